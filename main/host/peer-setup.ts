// What `quorum-chat peer` and the desktop app's host share: writing a new LAN group peer's files
// (group.json first, then peer.json) and starting whatever peer a data directory holds, static
// or LAN group. No printing and no process handling here: callers do that their own way.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AutopilotConfig } from '../autopilot/autopilot.js';
import { startGroupServer, type GroupServerOptions } from '../api/group-server.js';
import { startPeerServer, type PeerServer } from '../api/peer-server.js';
import type { ScryptParams } from '../chat/password.js';
import type { Logger } from '../log/logger.js';
import { writePeerConfig, type PeerConfig } from '../peer/config.js';
import { unnamedGroup, writeGroupConfig, type GroupConfig } from '../peer/group-files.js';
import { boundAddress } from '../peer/lan.js';
import type { PeerTiming } from '../peer/peer.js';
import { splitHostPort } from '../transport/listener.js';

export const defaultGroupListen = '0.0.0.0:7400';

/** A data directory that cannot be set up as asked; the message is one line for people. */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

export interface NewGroupPeer {
  readonly dataDir: string;
  /** Node id (default: `n-` + 8 random hex characters, kept for good). */
  readonly id?: string;
  /** Peer address (default 0.0.0.0:7400). */
  readonly listen?: string;
  /** Plaintext loopback address for local tools (default 127.0.0.1:<port+1>). */
  readonly clientListen?: string;
}

/**
 * First start of a group peer: group.json first, so that peer.json never exists without it.
 * A founder lists itself as the only member; a joiner lists nobody and learns them by joining.
 */
export function writeGroupFiles(peer: NewGroupPeer, secret: Buffer, groupName: string | null): { config: PeerConfig; group: GroupConfig } {
  if (existsSync(join(peer.dataDir, 'group.json'))) throw new SetupError(`${peer.dataDir} already belongs to a group: start it with --data alone`);
  const group = writeGroupConfig(peer.dataDir, secret, groupName ?? unnamedGroup);
  const id = peer.id ?? `n-${randomBytes(4).toString('hex')}`;
  const listen = peer.listen ?? defaultGroupListen;
  const config: PeerConfig = {
    version: 1, id, listen, clientListen: peer.clientListen ?? defaultClientListen(listen),
    peers: groupName === null ? {} : { [id]: listen },
  };
  writePeerConfig(peer.dataDir, config);
  return { config, group };
}

/** Everything a first start may have written: removed when that start failed, so setup can be retried. */
const peerFiles = ['group.json', 'peer.json', 'node-key.pem', 'node-cert.pem', 'members.json', 'known-peers.json',
  'raft.db', 'raft.db-wal', 'raft.db-shm', 'chat.db', 'chat.db-wal', 'chat.db-shm', 'snapshots'];

export function removePeerFiles(dataDir: string): void {
  for (const name of peerFiles) rmSync(join(dataDir, name), { recursive: true, force: true });
}

/** Local clients (the CLI) use loopback without TLS, on the next port up. */
export function defaultClientListen(listen: string): string {
  const { port } = splitHostPort(listen);
  return `127.0.0.1:${port === 0 ? 0 : port + 1}`;
}

export interface StartOptions {
  readonly dataDir: string;
  readonly config: PeerConfig;
  /** The LAN group the directory belongs to (null: a static `--peers` group). */
  readonly group: GroupConfig | null;
  readonly joinAddress?: string | null;
  readonly logger?: Logger;
  readonly snapshotEvery?: number;
  readonly retainedEntries?: number;
  readonly replayEntryBytes?: number;
  readonly autopilot?: Partial<AutopilotConfig>;
  readonly discovery?: GroupServerOptions['discovery'];
  /** Tests: cheap password hashing and fast elections. */
  readonly scrypt?: ScryptParams;
  readonly timing?: PeerTiming;
  /** The peer's storage failed (PeerOptions.onFatal; default: an uncaught error). */
  readonly onFatal?: (err: Error) => void;
}

export interface StartedPeer {
  readonly server: PeerServer;
  /** Where other peers reach it (a static peer: its listen address with the bound port). */
  readonly addresses: readonly string[];
  /** Resolves once it is a member (at once, unless it is a LAN peer still joining). */
  readonly joined: Promise<void>;
}

/** Starts the peer a data directory's files describe. */
export async function startConfiguredPeer(o: StartOptions): Promise<StartedPeer> {
  const common = {
    dataDir: o.dataDir, id: o.config.id, listen: o.config.listen, snapshotEvery: o.snapshotEvery, retainedEntries: o.retainedEntries,
    replayEntryBytes: o.replayEntryBytes, logger: o.logger, scrypt: o.scrypt, timing: o.timing, onFatal: o.onFatal,
  };
  if (o.group === null) {
    const server = await startPeerServer({ ...common, peers: new Map(Object.entries(o.config.peers)) });
    return { server, addresses: [boundAddress(o.config.listen, server.port)], joined: Promise.resolve() };
  }
  const server = await startGroupServer({
    ...common, clientListen: o.config.clientListen, group: o.group,
    // A founder's first start bootstraps a one-voter group; later starts restore from storage.
    founder: o.config.peers[o.config.id] !== undefined, joinAddress: o.joinAddress ?? null,
    autopilot: o.autopilot, discovery: o.discovery,
  });
  return { server, addresses: server.addresses, joined: server.joined };
}
