// `quorum-chat peer` for LAN groups: `--create-group NAME` or `--join-code CODE` on a fresh data
// directory writes group.json (the secret, owner-only) and peer.json (a random stable node id,
// listening on every interface by default); a restart needs only `--data DIR`.
import { startGroupServer } from '../api/group-server.js';
import type { Logger } from '../log/logger.js';
import type { PeerConfig } from '../peer/config.js';
import type { GroupConfig } from '../peer/group-files.js';
import { SetupError, writeGroupFiles } from '../host/peer-setup.js';
import { createGroupSecret, decodeInviteCode, encodeInviteCode, InviteCodeError } from '../security/group-secret.js';
import { CliError, exitOnFatal } from './output.js';
import { stopOnSignal } from './signals.js';

export interface GroupFlags {
  readonly data: string;
  readonly id?: string;
  readonly listen?: string;
  readonly peers?: string;
  readonly createGroup?: string;
  readonly joinCode?: string;
  readonly join?: string;
  readonly clientListen?: string;
  readonly autopilotStabilizationMs?: number;
  readonly autopilotDeadMs?: number;
  readonly mdnsRequeryMs?: number;
  readonly snapshotEvery?: number;
  readonly retainLog?: number;
  readonly replayEntryBytes?: number;
}

export { defaultGroupListen } from '../host/peer-setup.js';

export function isGroupStart(flags: GroupFlags): boolean {
  return flags.createGroup !== undefined || flags.joinCode !== undefined;
}

/** A positive integer from the environment (test-shortened autopilot timings), else undefined. */
export function envInt(name: string): number | undefined {
  const value = Number(process.env[name]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** First start of a group peer: the files are written by main/host (shared with the desktop app). */
export function createGroupConfig(flags: GroupFlags): PeerConfig {
  if (flags.createGroup !== undefined && flags.joinCode !== undefined) throw new CliError('give --create-group or --join-code, not both');
  if (flags.peers !== undefined) throw new CliError('--peers is for static groups; LAN groups find their members');
  const secret = flags.joinCode === undefined ? createGroupSecret() : decodeCode(flags.joinCode);
  const { config } = setUp(() => writeGroupFiles({ dataDir: flags.data, id: flags.id, listen: flags.listen, clientListen: flags.clientListen },
    secret, flags.createGroup ?? null));
  if (flags.createGroup !== undefined) process.stdout.write(`invite code: ${encodeInviteCode(secret)}\n`);
  return config;
}

function setUp<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof SetupError) throw new CliError(err.message);
    throw err;
  }
}

function decodeCode(code: string): Buffer {
  try {
    return decodeInviteCode(code);
  } catch (err) {
    if (err instanceof InviteCodeError) throw new CliError(err.message);
    throw err;
  }
}

export async function runGroupPeer(flags: GroupFlags, config: PeerConfig, group: GroupConfig, log: Logger): Promise<void> {
  const server = await startGroupServer({
    dataDir: flags.data, id: config.id, listen: config.listen, clientListen: config.clientListen,
    group, founder: flags.createGroup !== undefined, joinAddress: flags.join ?? null,
    snapshotEvery: flags.snapshotEvery, retainedEntries: flags.retainLog, replayEntryBytes: flags.replayEntryBytes, logger: log,
    autopilot: { stabilizationMs: flags.autopilotStabilizationMs, deadAfterMs: flags.autopilotDeadMs },
    discovery: flags.mdnsRequeryMs === undefined ? undefined : { requeryMs: flags.mdnsRequeryMs },
    onFatal: exitOnFatal(log),
  });
  for (const address of server.addresses) process.stdout.write(`listening on ${address}\n`);
  process.stdout.write(`clients on 127.0.0.1:${server.peer.clientPort}\n`);
  log.info({ id: config.id, addresses: server.addresses, groupId: group.groupId }, 'group peer started');
  void server.joined.then(() => log.info('member of the group'));
  // Removed from the group (quorum-chat leave, or autopilot): stop the way a signal does, a
  // moment later so that the Leave reply still reaches the caller.
  server.peer.once('removed', () => setTimeout(() => process.kill(process.pid, 'SIGTERM'), 500));
  await stopOnSignal(async () => {
    log.info('stopping (handing leadership over first if leading)');
    await server.stop();
  });
  log.flush();
}
