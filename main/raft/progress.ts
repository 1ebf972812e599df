// The leader's view of one follower: how far it matches, what to send next, and the in-flight
// window that bounds pipelined AppendEntries (after etcd-io/raft's tracker package).

export const enum ProgressState {
  /** Unknown match: send one App at a time and wait for the answer. */
  Probe = 0,
  /** Known match: stream Apps optimistically, bounded by the in-flight window. */
  Replicate = 1,
  /** Needs a snapshot; nothing else is sent until it lands (or times out). */
  Snapshot = 2,
}

/** A FIFO of (last index, bytes) of the Apps sent but not yet acknowledged. */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxMsgs: number, private readonly maxBytes: number) {}

  get count(): number {
    return this.indexes.length - this.head;
  }

  full(): boolean {
    return this.count >= this.maxMsgs || this.bytes >= this.maxBytes;
  }

  add(lastIndex: number, bytes: number): void {
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is ≤ `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && (this.indexes[this.head] as number) <= index) {
      this.bytes -= this.sizes[this.head] as number;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.indexes.length) this.compactArrays();
  }

  freeFirst(): void {
    if (this.count > 0) this.freeLE(this.indexes[this.head] as number);
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.bytes = 0;
  }

  private compactArrays(): void {
    this.indexes.splice(0, this.head);
    this.sizes.splice(0, this.head);
    this.head = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In Probe: an App is outstanding, wait for its answer (or the next heartbeat answer). */
  probeSent = false;
  /** In Snapshot: the snapshot index sent, and ticks spent waiting for it to land. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The highest commit index sent to it (in an App, a Commit or a heartbeat). */
  commitSent = 0;
  /**
   * It waits for entries up to here to commit: it forwarded them, or a read it asked for waits
   * for them. Such a follower is told of a commit at once even when commit notices are deferred.
   */
  commitWanted = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    const from = this.state === ProgressState.Snapshot ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.enter(ProgressState.Probe);
    this.next = from + 1;
  }

  becomeReplicate(): void {
    this.enter(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.enter(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** An App up to `index` was accepted. Returns whether the match advanced. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      this.probeSent = false;
      updated = true;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * An App probing at `rejected` was refused; `hint` is the highest index that may match.
   * Returns false for a stale rejection (one we already moved past), and for one at or below
   * `match`: the follower acknowledged that entry, so it lost its log (LostLogError, which the
   * next heartbeat makes it raise). Probing again at once would bounce between the two forever.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (rejected <= this.match) return false;
    if (this.state === ProgressState.Replicate) {
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe: return this.probeSent;
      case ProgressState.Replicate: return this.inflights.full();
      case ProgressState.Snapshot: return true;
    }
  }

  /** Records an App carrying entries up to `lastIndex` (`bytes` of data) just sent. */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  private enter(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }
}
