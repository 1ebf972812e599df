// `quorum-chat peer`: runs one peer in the foreground until SIGINT/SIGTERM, or until the parent
// that started it (`quorum-chat cluster`, a test harness) goes away. The first start writes
// peer.json into the data directory, so a restart needs only `--data DIR`.
import { Command, Option } from 'commander';
import { startPeerServer } from '../api/peer-server.js';
import { createLogger } from '../log/logger.js';
import { parsePeerList, readPeerConfig, writePeerConfig, type PeerConfig } from '../peer/config.js';
import { readGroupConfig } from '../peer/group-files.js';
import { boundAddress } from '../peer/lan.js';
import { createGroupConfig, envInt, isGroupStart, runGroupPeer, type GroupFlags } from './group-peer.js';
import { CliError, exitOnFatal, listenAddress, portNumber, positiveInt, wholeNumber } from './output.js';
import { stopOnSignal } from './signals.js';
import { runUiPeer, type UiFlags } from './ui-peer.js';

export interface PeerFlags extends GroupFlags {
  readonly data: string;
  readonly id?: string;
  readonly listen?: string;
  readonly peers?: string;
  /** Serve the UI and its bridge on 127.0.0.1 at this port (0: any free port). */
  readonly uiPort?: number;
  readonly uiDir?: string;
}

export function peerCommand(): Command {
  return new Command('peer')
    .description('run one peer: found or join a LAN group (--create-group, --join-code), or a static group (--peers); a restart needs only --data')
    .requiredOption('--data <dir>', 'data directory (created on first start)')
    .option('--create-group <name>', 'found a new group on a fresh --data directory; prints its invite code')
    .option('--join-code <code>', 'join the group of this invite code (found by mDNS, or through --join)')
    .option('--join <host:port>', 'a member to join through when multicast does not reach it')
    .addOption(new Option('--client-listen <host:port>', 'group peers: plaintext address for local clients (default 127.0.0.1:<port+1>)')
      .argParser(listenAddress))
    .addOption(new Option('--autopilot-stabilization-ms <ms>', 'learner health time before promotion').argParser(positiveInt)
      .default(envInt('QC_AUTOPILOT_STABILIZATION_MS')).hideHelp())
    .addOption(new Option('--autopilot-dead-ms <ms>', 'voter silence before it is replaced').argParser(positiveInt)
      .default(envInt('QC_AUTOPILOT_DEAD_MS')).hideHelp())
    .addOption(new Option('--mdns-requery-ms <ms>', 'mDNS re-query period').argParser(positiveInt).hideHelp())
    .option('--id <name>', 'this peer\'s node id (first start only)')
    .addOption(new Option('--listen <host:port>', 'address to serve peers and clients on (first start only; groups: 0.0.0.0:7400)')
      .argParser(listenAddress))
    .option('--peers <list>', 'every member as NAME=HOST:PORT,... (first start only; may include this peer)')
    .addOption(new Option('--snapshot-every <entries>', 'compact the log after this many applied entries (chat.db is the snapshot)')
      .argParser(positiveInt).hideHelp())
    .addOption(new Option('--retain-log <entries>', 'log entries kept below the snapshot for followers that far behind (default 200000)')
      .argParser(wholeNumber).hideHelp())
    .addOption(new Option('--replay-entry-bytes <bytes>', 'a follower lacking more kept entries than chat.db\'s size / BYTES gets a copy of chat.db instead (default 1024; 0: never)')
      .argParser(wholeNumber).hideHelp())
    .addOption(new Option('--ui-port <port>', 'serve the UI for a browser on 127.0.0.1:PORT (0: any free port); prints its URL. '
      + 'A fresh --data without --create-group/--join-code/--peers then starts in setup mode').argParser(portNumber))
    .addOption(new Option('--ui-dir <dir>', 'the built UI to serve (default: renderer/dist of this installation)').hideHelp())
    .action(async (flags: PeerFlags) => runPeer(flags));
}

/**
 * The configuration to start with: peer.json when the directory has one (flags given again
 * must agree with it), else one made from the flags and written before the first start.
 */
export function resolvePeerConfig(flags: PeerFlags): PeerConfig {
  const stored = readPeerConfig(flags.data);
  if (stored === null && isGroupStart(flags)) return createGroupConfig(flags);
  if (stored !== null && isGroupStart(flags)) throw new CliError(`${flags.data} is set up already: start it with --data alone`);
  if (stored !== null) {
    checkAgrees(stored, flags);
    return stored;
  }
  if (flags.id === undefined || flags.listen === undefined || flags.peers === undefined) {
    throw new CliError(`${flags.data} holds no peer.json yet: the first start needs --id, --listen and --peers`);
  }
  const peers = parsePeerList(flags.peers);
  if (!peers.has(flags.id)) peers.set(flags.id, flags.listen);
  const config: PeerConfig = { version: 1, id: flags.id, listen: flags.listen, peers: Object.fromEntries(peers) };
  writePeerConfig(flags.data, config);
  return config;
}

function checkAgrees(stored: PeerConfig, flags: PeerFlags): void {
  const given: [string, string | undefined, string][] = [
    ['--id', flags.id, stored.id],
    ['--listen', flags.listen, stored.listen],
  ];
  for (const [flag, value, kept] of given) {
    if (value !== undefined && value !== kept) throw new CliError(`${flags.data}/peer.json has ${flag} ${kept}, not ${value}`);
  }
  if (flags.peers === undefined) return;
  const peers = parsePeerList(flags.peers);
  for (const [id, address] of peers) {
    if (stored.peers[id] !== address) throw new CliError(`${flags.data}/peer.json does not list ${id}=${address}; membership is fixed at the first start`);
  }
}

async function runPeer(flags: PeerFlags): Promise<void> {
  if (flags.uiPort !== undefined) return runUiPeer(flags as PeerFlags & UiFlags);
  const config = resolvePeerConfig(flags);
  const log = createLogger(`peer ${config.id}`);
  const group = readGroupConfig(flags.data);
  if (group !== null) {
    await runGroupPeer(flags, config, group, log);
    return;
  }
  const server = await startPeerServer({
    dataDir: flags.data, id: config.id, listen: config.listen,
    peers: new Map(Object.entries(config.peers)), snapshotEvery: flags.snapshotEvery, retainedEntries: flags.retainLog, replayEntryBytes: flags.replayEntryBytes, logger: log,
    onFatal: exitOnFatal(log),
  });
  const listening = boundAddress(config.listen, server.port);
  process.stdout.write(`listening on ${listening}\n`);
  log.info({ id: config.id, listen: listening }, 'peer started');
  await stopOnSignal(async () => {
    log.info('stopping (handing leadership over first if leading)');
    await server.stop();
  });
  log.flush();
}
