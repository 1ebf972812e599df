// `quorum-chat peer` for LAN groups: `--create-group NAME` or `--join-code CODE` on a fresh data
// directory writes group.json (the secret, owner-only) and peer.json (a random stable node id,
// listening on every interface by default); a restart needs only `--data DIR`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startGroupServer } from '../api/group-server.js';
import type { Logger } from '../log/logger.js';
import { writePeerConfig, type PeerConfig } from '../peer/config.js';
import { unnamedGroup, writeGroupConfig, type GroupConfig } from '../peer/group-files.js';
import { createGroupSecret, decodeInviteCode, encodeInviteCode, InviteCodeError } from '../security/group-secret.js';
import { CliError } from './output.js';
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
}

export const defaultGroupListen = '0.0.0.0:7400';

export function isGroupStart(flags: GroupFlags): boolean {
  return flags.createGroup !== undefined || flags.joinCode !== undefined;
}

/** A positive integer from the environment (test-shortened autopilot timings), else undefined. */
export function envInt(name: string): number | undefined {
  const value = Number(process.env[name]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** First start of a group peer: group.json first, so that peer.json never exists without it. */
export function createGroupConfig(flags: GroupFlags): PeerConfig {
  if (flags.createGroup !== undefined && flags.joinCode !== undefined) throw new CliError('give --create-group or --join-code, not both');
  if (flags.peers !== undefined) throw new CliError('--peers is for static groups; LAN groups find their members');
  if (existsSync(join(flags.data, 'group.json'))) throw new CliError(`${flags.data} already belongs to a group: start it with --data alone`);
  const secret = flags.joinCode === undefined ? createGroupSecret() : decodeCode(flags.joinCode);
  writeGroupConfig(flags.data, secret, flags.createGroup ?? unnamedGroup);
  const id = flags.id ?? `n-${randomBytes(4).toString('hex')}`;
  const listen = flags.listen ?? defaultGroupListen;
  const config: PeerConfig = {
    version: 1, id, listen, clientListen: flags.clientListen ?? defaultClientListen(listen),
    peers: flags.createGroup === undefined ? {} : { [id]: listen },
  };
  writePeerConfig(flags.data, config);
  if (flags.createGroup !== undefined) process.stdout.write(`invite code: ${encodeInviteCode(secret)}\n`);
  return config;
}

function decodeCode(code: string): Buffer {
  try {
    return decodeInviteCode(code);
  } catch (err) {
    if (err instanceof InviteCodeError) throw new CliError(err.message);
    throw err;
  }
}

/** Local clients (the CLI) use loopback without TLS, on the next port up. */
function defaultClientListen(listen: string): string {
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  return `127.0.0.1:${port === 0 ? 0 : port + 1}`;
}

export async function runGroupPeer(flags: GroupFlags, config: PeerConfig, group: GroupConfig, log: Logger): Promise<void> {
  const server = await startGroupServer({
    dataDir: flags.data, id: config.id, listen: config.listen, clientListen: config.clientListen,
    group, founder: flags.createGroup !== undefined, joinAddress: flags.join ?? null,
    snapshotEvery: flags.snapshotEvery, logger: log,
    autopilot: { stabilizationMs: flags.autopilotStabilizationMs, deadAfterMs: flags.autopilotDeadMs },
    discovery: flags.mdnsRequeryMs === undefined ? undefined : { requeryMs: flags.mdnsRequeryMs },
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
