// A node's disk: what survives a crash. MemoryStorage holds exactly what the driver persisted from
// Ready batches (hard state, log entries after the snapshot, the snapshot); everything else a
// RaftNode knew is lost when the sim crashes it.
import type { ConfState, Entry, HardState, InitialState, Snapshot } from '../../main/raft/types.js';

export const emptyHardState: HardState = { term: 0, vote: null, commit: 0 };

export class MemoryStorage {
  hardState: HardState = emptyHardState;
  snapshot: Snapshot | null = null;
  /** entries[k].index === snapshotIndex + 1 + k. */
  private entries: Entry[] = [];

  get snapshotIndex(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  get snapshotTerm(): number {
    return this.snapshot?.meta.term ?? 0;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** Term of the entry at `index`; the snapshot's term at its index; undefined if not held. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.entry(index)?.term;
  }

  entry(index: number): Entry | undefined {
    return index > this.snapshotIndex ? this.entries[index - this.snapshotIndex - 1] : undefined;
  }

  /**
   * Write `batch` so that it replaces everything from batch[0].index on. Returns an error message
   * (instead of throwing) when the batch does not fit the log; the caller reports it as a violation.
   */
  append(batch: readonly Entry[]): string | null {
    const first = batch[0];
    if (!first) return null;
    if (first.index <= this.snapshotIndex) return `append at ${first.index} overwrites the snapshot at ${this.snapshotIndex}`;
    if (first.index > this.lastIndex() + 1) return `append at ${first.index} leaves a gap after ${this.lastIndex()}`;
    for (let k = 1; k < batch.length; k++) {
      if ((batch[k] as Entry).index !== first.index + k) return `append batch is not contiguous at ${first.index + k}`;
    }
    this.entries.length = first.index - this.snapshotIndex - 1;
    for (const e of batch) this.entries.push(e);
    return null;
  }

  /** Install a snapshot received from the leader: it replaces the whole log (as etcd's MemoryStorage). */
  installSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = [];
  }

  /** The application snapshotted its state at `index`: drop the log up to it. */
  compact(index: number, conf: ConfState, data: Uint8Array): void {
    const term = this.term(index);
    if (term === undefined || index <= this.snapshotIndex) throw new Error(`cannot compact at ${index}`);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshot = { meta: { index, term, conf }, data };
  }

  /** What a restarted node gets back from its disk. */
  initialState(conf: ConfState, applied: number): InitialState {
    // As main/storage/storage.ts does: what the state machine applied was committed, though the
    // hard state may not say so yet (entries applied while a write ran, before it recorded the commit).
    const hardState = { ...this.hardState, commit: Math.max(this.hardState.commit, applied) };
    return { hardState, snapshot: this.snapshot, conf, entries: this.entries.slice(), applied };
  }
}
