// The merged view of every source (mDNS, manual, cache), keyed by (groupId, nodeId), with
// expiry. It owns no timer and reads time only through the injected clock, so tests drive
// expiry directly; LanDiscovery calls sweep() on its re-query timer.
import { EventEmitter } from 'node:events';
import { uniqueAddresses } from './addresses.js';
import { identityOf, sameIdentity, sameList } from './identity.js';
import type { DiscoveredPeer, DiscoveryEvents, PeerIdentity, PeerSource } from './types.js';

interface SourceEntry {
  readonly identity: PeerIdentity;
  readonly addresses: readonly string[];
  readonly lastSeen: number;
  /** Null: kept until removed (manual and cache entries). */
  readonly expiresAt: number | null;
}

// Which source's identity and addresses come first: an announcement heard just now is fresher
// than an address typed by hand, which is fresher than one remembered from an earlier run.
const precedence: readonly PeerSource[] = ['mdns', 'manual', 'cache'];

export function peerKey(groupId: string, nodeId: string): string {
  return `${groupId}\u0000${nodeId}`;
}

function merge(sources: ReadonlyMap<PeerSource, SourceEntry>): DiscoveredPeer | null {
  const present = precedence.filter((s) => sources.has(s));
  const entries = present.map((s) => sources.get(s) as SourceEntry);
  const first = entries[0];
  if (first === undefined) return null;
  return {
    ...first.identity,
    addresses: uniqueAddresses(entries.map((e) => e.addresses)),
    lastSeen: Math.max(...entries.map((e) => e.lastSeen)),
    sources: present,
  };
}

/** Whether two views differ in anything but lastSeen (a refresh alone is not an update). */
function changed(a: DiscoveredPeer, b: DiscoveredPeer): boolean {
  return !sameIdentity(a, b) || !sameList(a.addresses, b.addresses) || !sameList(a.sources, b.sources);
}

export class PeerTable extends EventEmitter<DiscoveryEvents> {
  private readonly peers = new Map<string, Map<PeerSource, SourceEntry>>();
  private readonly views = new Map<string, DiscoveredPeer>();

  constructor(private readonly now: () => number) {
    super();
  }

  /**
   * Records that `source` knows this peer at these addresses. `ttlMs` makes the entry expire
   * unless it is put again in time (mDNS); without it the entry stays until removed.
   */
  put(source: PeerSource, identity: PeerIdentity, addresses: readonly string[], ttlMs?: number, lastSeen = this.now()): void {
    const key = peerKey(identity.groupId, identity.nodeId);
    const sources = this.peers.get(key) ?? new Map<PeerSource, SourceEntry>();
    this.peers.set(key, sources);
    const expiresAt = ttlMs === undefined ? null : this.now() + ttlMs;
    sources.set(source, { identity: identityOf(identity), addresses: [...addresses], lastSeen, expiresAt });
    this.publish(key);
  }

  remove(source: PeerSource, groupId: string, nodeId: string): void {
    const key = peerKey(groupId, nodeId);
    if (this.peers.get(key)?.delete(source) === true) this.publish(key);
  }

  /** Drops every source entry whose time is up; emits 'down' or 'update' as the view changes. */
  sweep(): void {
    const now = this.now();
    for (const [key, sources] of this.peers) {
      let expired = false;
      for (const [source, entry] of sources) {
        if (entry.expiresAt !== null && entry.expiresAt <= now) expired = sources.delete(source);
      }
      if (expired) this.publish(key);
    }
  }

  get(groupId: string, nodeId: string): DiscoveredPeer | undefined {
    return this.views.get(peerKey(groupId, nodeId));
  }

  list(): DiscoveredPeer[] {
    return [...this.views.values()];
  }

  /** Recomputes one peer's view and tells listeners what happened to it. */
  private publish(key: string): void {
    const before = this.views.get(key);
    const after = merge(this.peers.get(key) ?? new Map());
    if (after === null) {
      this.peers.delete(key);
      this.views.delete(key);
      if (before !== undefined) this.emit('down', before);
      return;
    }
    this.views.set(key, after);
    if (before === undefined) this.emit('up', after);
    else if (changed(before, after)) this.emit('update', after);
  }
}
