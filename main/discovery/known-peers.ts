// known-peers.json in the data directory: every peer of this node's group that was ever found
// (by mDNS or by hand), node id → identity, addresses and when it was last seen. On a network
// that blocks multicast, a restarted peer still has addresses to try. It is a cache: a damaged
// file is reported and ignored, never a reason to refuse to start.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { maxAddresses, parseAddress } from './addresses.js';
import { identityOf, identityProblem, sameIdentity, sameList } from './identity.js';
import type { DiscoveredPeer, PeerIdentity } from './types.js';
import { mkdirDurably, writeFileDurably } from '../storage/fsync.js';

export const knownPeersFile = 'known-peers.json';

export interface KnownPeer extends PeerIdentity {
  readonly addresses: readonly string[];
  readonly lastSeen: number;
}

const entrySchema = z.object({
  groupId: z.string(),
  groupName: z.string(),
  protocolVersion: z.number(),
  addresses: z.array(z.string().refine((a) => parseAddress(a) !== null, 'not host:port')).min(1).max(maxAddresses),
  lastSeen: z.number().int().nonnegative(),
});

const fileSchema = z.object({ version: z.literal(1), peers: z.record(z.string(), z.unknown()) });

export interface LoadResult {
  readonly peers: KnownPeer[];
  /** What was wrong with the file (it, or some entries, were skipped), or null. */
  readonly problem: string | null;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** One entry of the file, or null when it is malformed. */
function parseEntry(nodeId: string, value: unknown): KnownPeer | null {
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) return null;
  const peer = { ...parsed.data, nodeId };
  return identityProblem(peer) === null ? peer : null;
}

export class KnownPeers {
  private readonly peers = new Map<string, KnownPeer>();
  private dirty = false;
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, knownPeersFile);
  }

  /** Reads the file, skipping malformed entries and those not seen within `maxAgeMs`. */
  load(now: number, maxAgeMs: number): LoadResult {
    if (!existsSync(this.path)) return { peers: [], problem: null };
    let file: z.infer<typeof fileSchema>;
    try {
      file = fileSchema.parse(readJson(this.path));
    } catch (err) {
      return { peers: [], problem: `${this.path} ignored: ${(err as Error).message.split('\n')[0]}` };
    }
    const entries = Object.entries(file.peers).map(([nodeId, value]) => parseEntry(nodeId, value));
    const valid = entries.filter((p): p is KnownPeer => p !== null);
    const fresh = valid.filter((p) => now - p.lastSeen <= maxAgeMs);
    for (const peer of fresh) this.peers.set(peer.nodeId, peer);
    const skipped = entries.length - valid.length;
    return { peers: fresh, problem: skipped === 0 ? null : `${this.path}: ${skipped} malformed entries ignored` };
  }

  /** Records a peer's latest addresses. Only a new peer or new addresses make a save necessary. */
  remember(peer: DiscoveredPeer | KnownPeer): void {
    const before = this.peers.get(peer.nodeId);
    const entry: KnownPeer = { ...identityOf(peer), addresses: peer.addresses.slice(0, maxAddresses), lastSeen: peer.lastSeen };
    this.peers.set(peer.nodeId, entry);
    if (before === undefined || !sameIdentity(before, entry) || !sameList(before.addresses, entry.addresses)) this.dirty = true;
  }

  list(): KnownPeer[] {
    return [...this.peers.values()];
  }

  get needsSave(): boolean {
    return this.dirty;
  }

  /** Writes the file atomically and durably (writeFileDurably): a crash leaves the old or the new one. */
  save(): void {
    const peers = Object.fromEntries(this.list().map(({ nodeId, ...rest }) => [nodeId, rest]));
    mkdirDurably(dirname(this.path));
    writeFileDurably(this.path, `${JSON.stringify({ version: 1, peers }, null, 2)}\n`);
    this.dirty = false;
  }
}
