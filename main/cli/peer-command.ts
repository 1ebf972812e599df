// `quorum-chat peer`: runs one peer in the foreground until SIGINT/SIGTERM, or until the parent
// that started it (`quorum-chat cluster`, a test harness) goes away. The first start writes
// peer.json into the data directory, so a restart needs only `--data DIR`.
import { Command, Option } from 'commander';
import { startPeerServer } from '../api/peer-server.js';
import { createLogger } from '../log/logger.js';
import { parsePeerList, readPeerConfig, writePeerConfig, type PeerConfig } from '../peer/config.js';
import { CliError, positiveInt } from './output.js';

export interface PeerFlags {
  readonly data: string;
  readonly id?: string;
  readonly listen?: string;
  readonly peers?: string;
  readonly snapshotEvery?: number;
}

export function peerCommand(): Command {
  return new Command('peer')
    .description('run one peer of a group (static membership); a restart needs only --data')
    .requiredOption('--data <dir>', 'data directory (created on first start)')
    .option('--id <name>', 'this peer\'s node id (first start only)')
    .option('--listen <host:port>', 'address to serve peers and clients on (first start only)')
    .option('--peers <list>', 'every member as NAME=HOST:PORT,... (first start only; may include this peer)')
    .addOption(new Option('--snapshot-every <entries>', 'snapshot and compact the log after this many entries')
      .argParser(positiveInt).hideHelp())
    .action(async (flags: PeerFlags) => runPeer(flags));
}

/**
 * The configuration to start with: peer.json when the directory has one (flags given again
 * must agree with it), else one made from the flags and written before the first start.
 */
export function resolvePeerConfig(flags: PeerFlags): PeerConfig {
  const stored = readPeerConfig(flags.data);
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
  const config = resolvePeerConfig(flags);
  const log = createLogger(`peer ${config.id}`);
  const server = await startPeerServer({
    dataDir: flags.data, id: config.id, listen: config.listen,
    peers: new Map(Object.entries(config.peers)), snapshotEvery: flags.snapshotEvery, logger: log,
  });
  const host = config.listen.slice(0, config.listen.lastIndexOf(':'));
  process.stdout.write(`listening on ${host}:${server.port}\n`);
  log.info({ id: config.id, listen: `${host}:${server.port}` }, 'peer started');
  await stopOnSignal(async () => {
    log.info('stopping (handing leadership over first if leading)');
    await server.stop();
  });
  log.flush();
}

/**
 * Resolves after `stop` ran, on SIGINT, SIGTERM or the loss of the parent's IPC channel (a
 * parent that dies without stopping its children must not leave them running). A second
 * signal while stopping exits at once.
 */
function stopOnSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onStop = () => {
      if (stopping) process.exit(1);
      stopping = true;
      stop().then(resolve, reject);
    };
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    if (process.channel !== undefined) {
      process.on('disconnect', onStop);
      // The channel must not keep the process alive by itself, only tell us when it closes.
      process.channel.unref();
    }
  });
}
