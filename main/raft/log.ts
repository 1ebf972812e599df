// The replicated log as one node holds it in memory: a snapshot (everything up to `offset`) plus
// the entries after it, with marks for what is durable (`stable`), committed and applied.
import type { CompactedLog, Entry, Snapshot } from './types.js';

export class RaftLog {
  /** Index covered by the latest snapshot (0 = none); entries[0].index === offset + 1. */
  offset: number;
  offsetTerm: number;
  entries: Entry[];
  /** Latest snapshot known to this node: the application's, or one received from the leader. */
  snapshot: Snapshot | null;
  /** A snapshot received from the leader that the driver has not installed yet. */
  pendingSnapshot: Snapshot | null = null;
  /** Entries up to here are on disk. */
  stable: number;
  committed: number;
  applied: number;
  /** Highest index handed to the driver for applying (≥ applied, ≤ committed). */
  applying: number;

  constructor(snapshot: Snapshot | null, entries: readonly Entry[], commit: number, applied: number, private readonly compacted: CompactedLog | null = null) {
    this.snapshot = snapshot;
    this.offset = snapshot?.meta.index ?? 0;
    this.offsetTerm = snapshot?.meta.term ?? 0;
    this.entries = entries.filter((e) => e.index > this.offset);
    this.checkContiguous();
    this.stable = this.lastIndex();
    this.committed = Math.min(Math.max(commit, this.offset), this.lastIndex());
    this.applied = Math.max(Math.min(applied, this.committed), this.offset);
    this.applying = this.applied;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.termAt(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`; undefined when compacted away or beyond the end. */
  termAt(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.offset - 1] as Entry).term;
  }

  entryAt(index: number): Entry | undefined {
    return index > this.offset ? this.entries[index - this.offset - 1] : undefined;
  }

  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi] (inclusive), at most `maxBytes` of data but always at least one. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = Math.max(lo, this.firstIndex()); i <= Math.min(hi, this.lastIndex()); i++) {
      const e = this.entries[i - this.offset - 1] as Entry;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /**
   * Term of the entry at `index` for a leader sending it: from memory, else from the entries
   * still held on disk below the snapshot.
   */
  termForSend(index: number): number | undefined {
    return this.termAt(index) ?? (index < this.offset ? this.compacted?.term(index) : undefined);
  }

  /**
   * slice() for a leader sending entries from `lo`: below the snapshot they come from the
   * entries held on disk, up to the snapshot index (the next App continues from memory).
   */
  sliceForSend(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo > this.offset || this.compacted === null) return this.slice(lo, hi, maxBytes);
    return this.compacted.entries(lo, Math.min(hi, this.offset), maxBytes);
  }

  /** Appends entries that follow on directly or overwrite a suffix (never a committed one). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (first <= this.committed) throw new Error(`raft: overwriting committed entry ${first} (commit ${this.committed})`);
    if (first > this.lastIndex() + 1) throw new Error(`raft: gap appending ${first} after ${this.lastIndex()}`);
    this.entries.length = first - this.offset - 1;
    for (const e of entries) this.entries.push(e);
    this.stable = Math.min(this.stable, first - 1);
  }

  /**
   * Follower side of AppendEntries (Figure 2, receiver rules 2–5). Returns the index of the last
   * entry now known to match the leader's, or undefined when (prevIndex, prevTerm) does not match.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[], skipCheck = false): number | undefined {
    const matches = this.matchTerm(prevIndex, prevTerm) || (skipCheck && prevIndex <= this.lastIndex());
    if (!matches) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) this.append(entries.slice(conflict - prevIndex - 1));
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Index of the first entry that is new or conflicts with ours (0 if all are already here). */
  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.offset) continue; // covered by our snapshot, hence committed and equal
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking: the largest index ≤ `index` whose term is ≤ `term`, with its term.
   * The leader skips a whole term of mismatching entries per round trip.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.offset; i--) {
      const t = this.termAt(i) as number;
      if (t <= term) return [i, t];
    }
    return [i, this.termAt(i) ?? 0];
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw new Error(`raft: commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Marks entries up to (index, term) durable, unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index > this.stable) this.stable = index;
  }

  /** Committed entries not yet handed out for applying, at most `maxEntries`. */
  nextCommitted(maxEntries: number): Entry[] {
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = Math.min(this.committed, lo + maxEntries - 1);
    return hi >= lo ? this.slice(lo, hi) : [];
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applying && this.pendingSnapshot === null;
  }

  hasUnstable(): boolean {
    return this.lastIndex() > this.stable;
  }

  unstable(): Entry[] {
    return this.entries.slice(this.stable - this.offset);
  }

  /** Drops entries up to `snapshot.meta.index`, which the application has captured. */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.offset) return;
    if (index > this.applied) throw new Error(`raft: compacting ${index} beyond applied ${this.applied}`);
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
    this.offsetTerm = snapshot.meta.term;
    this.snapshot = snapshot;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.entries = [];
    this.offset = snapshot.meta.index;
    this.offsetTerm = snapshot.meta.term;
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.committed = snapshot.meta.index;
    this.stable = snapshot.meta.index;
  }

  /** The driver installed the pending snapshot. */
  snapshotInstalled(index: number): void {
    if (this.pendingSnapshot?.meta.index === index) this.pendingSnapshot = null;
    this.applied = Math.max(this.applied, index);
    this.applying = Math.max(this.applying, index);
  }

  appliedTo(index: number): void {
    this.applied = Math.max(this.applied, index);
    this.applying = Math.max(this.applying, this.applied);
  }

  private checkContiguous(): void {
    this.entries.forEach((e, i) => {
      if (e.index !== this.offset + 1 + i) throw new Error(`raft: log not contiguous at ${e.index}`);
    });
  }
}
