// A group peer on the LAN: where it can be reached, and the address book fed by discovery.
// Discovery is a hint (see main/discovery/README.md): an address it reports is only dialled,
// and TLS then proves (or not) that the node there is the member it claims to be.
import { formatAddress } from '../discovery/addresses.js';
import { usableInterfaces } from '../discovery/interfaces.js';
import type { DiscoveredPeer, Discovery } from '../discovery/index.js';
import { splitHostPort } from '../transport/listener.js';
import type { Peer } from './peer.js';

/** The host part of a listen address (`host:port`, IPv6 in brackets), without the brackets. */
export function listenHost(listen: string): string {
  return splitHostPort(listen).host;
}

/** The listen address with the port actually bound (`host:0` listens on a free port). */
export function boundAddress(listen: string, port: number): string {
  return formatAddress(listenHost(listen), port);
}

/** Whether a listen host means every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::';
}

/**
 * The addresses this peer can be reached at: one per usable interface when it listens on all
 * of them (0.0.0.0), else the one it listens on; loopback when there is nothing else.
 */
export function reachableAddresses(listen: string, port: number): string[] {
  const host = listenHost(listen);
  if (!isWildcardHost(host)) return [formatAddress(host, port)];
  const usable = usableInterfaces().map((iface) => formatAddress(iface.address, port));
  return usable.length > 0 ? usable : [formatAddress('127.0.0.1', port)];
}

/**
 * Keeps the peer's address book current from discovery (mDNS and the known-peers cache): a
 * node announcing a new address (a new DHCP lease) is reached there from then on.
 */
export function followDiscovery(peer: Peer, discovery: Discovery, groupId: string): void {
  const learn = (p: DiscoveredPeer) => {
    const address = p.addresses[0];
    if (p.groupId === groupId && p.nodeId !== peer.id && address !== undefined) peer.setAddress(p.nodeId, address);
  };
  for (const p of discovery.list()) learn(p);
  discovery.on('up', learn);
  discovery.on('update', learn);
}

/** Members of our group to ask for a join: the address given by hand first, then discovery's. */
export function joinCandidates(discovery: Discovery, groupId: string, manual: string | null): { address: string; nodeId: string | null }[] {
  const found = discovery.list()
    .filter((p) => p.groupId === groupId && p.addresses[0] !== undefined)
    .map((p) => ({ address: p.addresses[0] as string, nodeId: p.nodeId }));
  return manual === null ? found : [{ address: manual, nodeId: null }, ...found];
}
