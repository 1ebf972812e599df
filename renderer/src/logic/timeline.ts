// The admin timeline: the peer's own entries plus leader changes seen as group events.
import type { TimelineEntry } from '../../../common/chat-api.js';

export interface TimelineItem extends TimelineEntry {
  /** `status`: from PeerStatus.timeline; `event`: a group event seen by this window. */
  readonly source: 'status' | 'event';
}

/** The peer's timeline plus leader changes seen as events, newest first, without repeats. */
export function mergeTimeline(status: readonly TimelineEntry[], events: readonly TimelineItem[]): TimelineItem[] {
  const seen = new Set<string>();
  const all: TimelineItem[] = [...status.map((e) => ({ ...e, source: 'status' as const })), ...events]
    .sort((a, b) => a.at - b.at);
  const out: TimelineItem[] = [];
  for (const e of all) {
    const k = `${e.term}:${e.kind}:${e.node ?? ''}`;
    if (e.kind !== 'election' && seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out.reverse();
}
