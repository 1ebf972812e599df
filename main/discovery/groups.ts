// The groups visible on the LAN, from what discovery lists: what `quorum-chat groups` shows.
import type { DiscoveredPeer } from './types.js';

export interface VisibleGroup {
  readonly groupId: string;
  /** The name its most recently seen member announces (members could disagree). */
  readonly groupName: string;
  readonly nodeIds: readonly string[];
}

/** Peers grouped by group id (never by name: two groups may share one), sorted by name then id. */
export function groupsOf(peers: readonly DiscoveredPeer[]): VisibleGroup[] {
  const byId = new Map<string, DiscoveredPeer[]>();
  for (const peer of peers) byId.set(peer.groupId, [...(byId.get(peer.groupId) ?? []), peer]);
  const groups = [...byId].map(([groupId, members]) => {
    const newest = members.reduce((a, b) => (b.lastSeen > a.lastSeen ? b : a));
    return { groupId, groupName: newest.groupName, nodeIds: members.map((m) => m.nodeId).sort() };
  });
  return groups.sort((a, b) => a.groupName.localeCompare(b.groupName) || a.groupId.localeCompare(b.groupId));
}
