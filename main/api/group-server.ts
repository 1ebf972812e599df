// A peer of a zero-configuration LAN group: the peer server over mutual TLS (certificates from
// the group secret), announced and found by mDNS, joining through any member it finds when it
// is not a member yet, and running autopilot (which acts only while this peer leads).
import { defaultAutopilot, type AutopilotConfig } from '../autopilot/autopilot.js';
import { LanDiscovery, type DiscoveredPeer, type LanDiscoveryOptions } from '../discovery/index.js';
import { usableInterfaces } from '../discovery/interfaces.js';
import { AutopilotRunner } from '../peer/autopilot-runner.js';
import { groupTls, renameGroup, unnamedGroup, type GroupConfig } from '../peer/group-files.js';
import { joinGroup, membershipHandlers } from '../peer/join.js';
import { followDiscovery, isWildcardHost, joinCandidates, listenHost, reachableAddresses } from '../peer/lan.js';
import { startPeerServer, type PeerServer, type PeerServerOptions } from './peer-server.js';

export interface GroupServerOptions extends Omit<PeerServerOptions, 'peers' | 'tls' | 'joins'> {
  readonly group: GroupConfig;
  /** Found the group (a one-voter group of this node) rather than join it. */
  readonly founder: boolean;
  /** A member's address to join through, besides those found by mDNS. */
  readonly joinAddress?: string | null;
  readonly autopilot?: Partial<AutopilotConfig>;
  readonly discovery?: Pick<LanDiscoveryOptions, 'requeryMs' | 'ttlMs' | 'interfacePollMs'>;
}

export interface GroupServer extends PeerServer {
  /** Where other peers reach this one (one per usable interface). */
  readonly addresses: readonly string[];
  /** Resolves once a member accepted this node (at once for a member already). */
  readonly joined: Promise<void>;
}

export async function startGroupServer(options: GroupServerOptions): Promise<GroupServer> {
  const { group, founder, joinAddress = null } = options;
  const { tls } = await groupTls(options.dataDir, group, options.id);
  const server = await startPeerServer({
    ...options, tls, membership: membershipHandlers,
    peers: new Map(founder ? [[options.id, options.listen]] : []),
  });
  const { peer } = server;
  const addresses = () => reachableAddresses(options.listen, server.port);
  peer.setAddress(peer.id, addresses()[0] as string); // what Join replies tell others
  const discovery = new LanDiscovery({
    ...options.discovery, dataDir: options.dataDir, logger: options.logger, listInterfaces: boundInterfaces(options.listen),
  });
  followDiscovery(peer, discovery, group.groupId);
  const advertise = (groupName: string) => discovery.advertise({ groupId: group.groupId, groupName, nodeId: peer.id, protocolVersion: 1, port: server.port });
  advertise(group.groupName);
  if (group.groupName === unnamedGroup) adoptGroupName(discovery, options.dataDir, group, advertise);
  discovery.browse();
  peer.autopilot = new AutopilotRunner(peer, { ...defaultAutopilot, ...options.autopilot });
  peer.autopilot.start();
  const abort = new AbortController();
  const joined = peer.isMember(peer.id) ? Promise.resolve() : joinGroup(peer, {
    addresses, signal: abort.signal,
    candidates: () => joinCandidates(discovery, group.groupId, joinAddress).filter((c) => c.nodeId !== peer.id),
    onAttemptFailed: (address, err) => options.logger?.warn({ address, err: err.message }, 'join attempt failed'),
  }).then(() => undefined);
  joined.catch(() => undefined); // only rejects when stopped before joining
  return {
    ...server, addresses: addresses(), joined,
    stop: async (handoverMs) => {
      abort.abort();
      await discovery.close();
      await server.stop(handoverMs);
    },
  };
}

/** A joiner takes the name the group's members announce, keeps it, and announces it too. */
function adoptGroupName(discovery: LanDiscovery, dataDir: string, group: GroupConfig, advertise: (name: string) => void): void {
  const adopt = (p: DiscoveredPeer) => {
    if (p.groupId !== group.groupId || p.groupName === unnamedGroup) return;
    discovery.off('up', adopt);
    discovery.off('update', adopt);
    advertise(renameGroup(dataDir, group, p.groupName).groupName);
  };
  discovery.on('up', adopt);
  discovery.on('update', adopt);
}

/**
 * A peer bound to one address is reachable there only: announcing it on every interface would
 * tell the others to dial an address where nothing listens (and replace the one they joined
 * through). So mDNS runs only on the interface of that address (none for loopback).
 */
function boundInterfaces(listen: string): LanDiscoveryOptions['listInterfaces'] {
  const host = listenHost(listen);
  if (isWildcardHost(host)) return undefined;
  return () => usableInterfaces().filter((iface) => iface.address === host);
}
