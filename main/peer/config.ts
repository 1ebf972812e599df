// The peer's own settings, kept in its data directory (peer.json) so that a restart needs only
// `--data DIR`: its id, where it listens and the addresses of the other members.
import { join } from 'node:path';
import { z } from 'zod';
import { mkdirDurably, writeFileDurably } from '../storage/fsync.js';
import { readJsonFile } from './json-file.js';

const configSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'node ids use letters, digits, _ . -'),
  listen: z.string().min(1),
  /** Group peers: a plaintext address for local clients (the peer address speaks TLS only). */
  clientListen: z.string().min(1).optional(),
  /** Node id → host:port, this peer included. */
  peers: z.record(z.string(), z.string()),
});

export type PeerConfig = z.infer<typeof configSchema>;

const fileName = 'peer.json';

export function readPeerConfig(dataDir: string): PeerConfig | null {
  return readJsonFile(join(dataDir, fileName), configSchema, 'is not a peer configuration', '; fix or remove it');
}

/** Writes peer.json atomically and durably (writeFileDurably), creating the data directory. */
export function writePeerConfig(dataDir: string, config: PeerConfig): void {
  configSchema.parse(config);
  mkdirDurably(dataDir);
  writeFileDurably(join(dataDir, fileName), JSON.stringify(config, null, 2) + '\n');
}

/** Parses `a=host:port,b=host:port` into a map; throws a clear error on bad input. */
export function parsePeerList(list: string): Map<string, string> {
  const peers = new Map<string, string>();
  for (const item of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^([A-Za-z0-9_.-]+)=(.+:\d+)$/.exec(item);
    if (match === null) throw new Error(`bad peer "${item}": expected NAME=HOST:PORT`);
    const [, id, address] = match as unknown as [string, string, string];
    if (peers.has(id)) throw new Error(`peer ${id} is listed twice`);
    peers.set(id, address);
  }
  return peers;
}
