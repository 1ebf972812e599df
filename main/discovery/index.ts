// The discovery layer's public surface: the peer imports from here, and depends on the
// Discovery interface, not on mDNS.
export type { Advertisement, DiscoveredPeer, Discovery, DiscoveryEvents, ManualPeer, PeerIdentity, PeerSource } from './types.js';
export { serviceType } from './types.js';
export { groupsOf, type VisibleGroup } from './groups.js';
export { LanDiscovery, type LanDiscoveryOptions } from './lan-discovery.js';
export { knownPeersFile } from './known-peers.js';
