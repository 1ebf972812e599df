// The discovery seam: the peer depends on these types only, never on mDNS or the library
// behind it. Everything discovery reports is a hint (see README.md): it says where a peer
// claims to be, not who it is. Identity comes from the group secret, checked by the transport.
import type { EventEmitter } from 'node:events';

/** DNS-SD service type announced and browsed on the LAN. */
export const serviceType = '_quorum-chat._tcp';

/** What a peer says about itself: the TXT record of its announcement. */
export interface PeerIdentity {
  readonly groupId: string;
  readonly groupName: string;
  readonly nodeId: string;
  readonly protocolVersion: number;
}

/** This peer's own announcement: its identity and the port its transport listens on. */
export interface Advertisement extends PeerIdentity {
  readonly port: number;
}

/**
 * Where an entry came from: an mDNS announcement, an address added by hand, or the
 * known-peers cache in the data directory (seen on an earlier run).
 */
export type PeerSource = 'mdns' | 'manual' | 'cache';

export interface DiscoveredPeer extends PeerIdentity {
  /** `host:port` (IPv6 as `[addr]:port`), the most likely reachable first. */
  readonly addresses: readonly string[];
  /** When any source last confirmed this peer (ms since the epoch). */
  readonly lastSeen: number;
  readonly sources: readonly PeerSource[];
}

/**
 * A peer added by hand: the static `--peers id=host:port` form, or a peer the transport has
 * verified after dialling an address typed by a user (an address alone is not yet a peer:
 * who answers there is known only once the transport has checked it).
 */
export interface ManualPeer extends PeerIdentity {
  readonly addresses: readonly string[];
}

export interface DiscoveryEvents {
  /** A peer appeared (no source knew it before). */
  up: [peer: DiscoveredPeer];
  /** Its addresses, name, version or sources changed. */
  update: [peer: DiscoveredPeer];
  /** No source knows it any more (mDNS entries expire by TTL; manual ones are removed). */
  down: [peer: DiscoveredPeer];
}

/**
 * LAN discovery. Entries are keyed by (groupId, nodeId): two groups may both have a node "n1",
 * and a `groups` listing groups them by groupId.
 */
export interface Discovery extends EventEmitter<DiscoveryEvents> {
  /** Starts looking for peers on every usable interface; events flow from here on. */
  browse(): void;
  /** Announces this peer on every usable interface (replacing an earlier announcement). */
  advertise(record: Advertisement): void;
  /** Adds a peer by address; merged with mDNS entries and remembered in the cache. */
  addPeer(peer: ManualPeer): void;
  /** Forgets a manual entry (the mDNS view of the same node is unaffected). */
  removePeer(groupId: string, nodeId: string): void;
  /** Every peer currently known, this node excluded. */
  list(): DiscoveredPeer[];
  /** Stops announcing (with a goodbye), browsing and timers; saves the cache. */
  close(): Promise<void>;
}
