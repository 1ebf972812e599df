// Raft's safety invariants, checked incrementally as the simulator observes each event (so every
// step is checked at O(1) cost per event, apart from leader completeness, which runs once per
// election). The checker sees only what the driver sees: Ready batches, messages and the disks.
import { MessageType, type Entry, type HardState, type Message, type NodeId, type ReadState, type Snapshot } from '../../main/raft/types.js';
import { hashBytes } from './hash.js';
import { MAX_NODES, nodeIndex } from './ids.js';
import type { MemoryStorage } from './storage.js';

/** Terms stay below this, so (index, term) packs into one number key. */
const TERM_LIMIT = 1 << 20;
const UNKNOWN = -1;

interface LogRecord {
  readonly hash: number;
  readonly prevTerm: number;
}

/** Which of Raft's guarantees a violation breaks (the bug tests match on it). */
export type ViolationKind =
  | 'election-safety' | 'vote' | 'log-matching' | 'leader-completeness' | 'commit-rule' | 'state-machine-safety'
  | 'durability' | 'linearizability' | 'liveness' | 'convergence' | 'exception';

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
}

/** Entry data is shared by reference as it travels between sim nodes: hash each buffer once. */
const dataHashes = new WeakMap<Uint8Array, number>();

export function entryHash(e: Entry): number {
  let h = dataHashes.get(e.data);
  if (h === undefined) {
    h = hashBytes(e.data);
    dataHashes.set(e.data, h);
  }
  return (h ^ Math.imul(e.type + 1, 0x9e3779b1)) >>> 0;
}

export class Checker {
  readonly violations: Violation[] = [];
  /** Highest commit index any node has reported (via a persisted hard state or a snapshot). */
  commitMax = 0;
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** term * MAX_NODES + voter index → the candidate it granted its vote to. */
  private readonly votes = new Map<number, NodeId>();
  /** index * TERM_LIMIT + term → what any log holding that position must hold there. */
  private readonly positions = new Map<number, LogRecord>();
  /** committedTerm[i], committedHash[i]: the entry committed at index i, once anyone commits it. */
  private readonly committedTerm: number[] = [];
  private readonly committedHash: number[] = [];
  /**
   * committedBy[i]: an upper bound on the term in which index i was committed — the term of the
   * first node seen to commit it (usually the deciding leader, which persists its commit before
   * telling anyone). Leader completeness only covers entries committed in earlier terms.
   */
  private readonly committedBy: number[] = [];
  /** State hash after applying index i, from snapshots taken or installed at i. */
  private readonly stateAt = new Map<number, string>();
  /** Read context → the commit index known to the cluster when the read was issued. */
  private readonly readFloor = new Map<string, number>();

  constructor(private readonly where: () => string) {}

  get failed(): boolean {
    return this.violations.length > 0;
  }

  /** Election safety: at most one leader per term. Returns true the first time a term gets one. */
  onLeader(id: NodeId, term: number): boolean {
    const known = this.leaderOfTerm.get(term);
    if (known === undefined) {
      this.leaderOfTerm.set(term, id);
      return true;
    }
    if (known !== id) this.fail('election-safety', `two leaders in term ${term}: ${known} and ${id}`);
    return false;
  }

  /** Checks on a message as it leaves its sender, whose disk is `disk` (already persisted). */
  onSend(m: Message, disk: MemoryStorage): boolean {
    switch (m.type) {
      case MessageType.App: case MessageType.Commit: case MessageType.Heartbeat: case MessageType.Snap: case MessageType.TimeoutNow:
        return this.onLeader(m.from, m.term);
      case MessageType.VoteResp:
        if (!m.reject) this.onVoteGranted(m, disk.hardState);
        return false;
      default:
        return false;
    }
  }

  /**
   * Log matching, checked on every entry a node persists: all logs holding (index, term) hold the
   * same data there and the same term just before it — which by induction makes them equal up to
   * that index. Also: a node never overwrites an entry it has reported committed.
   */
  onPersistEntries(id: NodeId, disk: MemoryStorage, batch: readonly Entry[]): void {
    const first = batch[0];
    if (!first) return;
    let prevTerm = disk.term(first.index - 1) ?? UNKNOWN;
    for (const e of batch) {
      if (e.index <= disk.hardState.commit && disk.term(e.index) !== e.term) {
        this.fail('durability', `${id} overwrites committed entry ${e.index} (term ${disk.term(e.index)}) with term ${e.term}`);
      }
      this.checkPosition(id, e, prevTerm);
      prevTerm = e.term;
    }
  }

  /** Persisted hard state: term and commit never go back, a vote never changes within a term. */
  onHardState(id: NodeId, before: HardState, after: HardState, disk: MemoryStorage): void {
    if (after.term < before.term) this.fail('durability', `${id} term went back from ${before.term} to ${after.term}`);
    if (after.term === before.term && before.vote !== null && after.vote !== before.vote) {
      this.fail('vote', `${id} changed its vote in term ${after.term} from ${before.vote} to ${after.vote}`);
    }
    if (after.commit < before.commit) this.fail('durability', `${id} commit went back from ${before.commit} to ${after.commit}`);
    if (after.commit > disk.lastIndex()) this.fail('durability', `${id} commit ${after.commit} is beyond its log (last ${disk.lastIndex()})`);
    for (let i = before.commit + 1; i <= after.commit; i++) {
      const e = disk.entry(i);
      if (e) this.checkCommitted(id, i, e.term, entryHash(e), after.term);
      else if (i === disk.snapshotIndex) this.checkCommitted(id, i, disk.snapshotTerm, UNKNOWN, after.term);
    }
    this.commitMax = Math.max(this.commitMax, after.commit);
  }

  /**
   * §5.4.2 (Figure 2, last rule for leaders): a leader moves its commit index only onto an entry of
   * its own term; earlier entries commit indirectly. Called for a node that led in `term` before and
   * after the Ready that moved its commit from `before` to `after`.
   */
  onLeaderCommit(id: NodeId, term: number, before: number, after: number, disk: MemoryStorage): void {
    const at = disk.term(after);
    if (after > before && at !== term) this.fail('commit-rule', `leader ${id} of term ${term} advanced its commit to ${after}, an entry of term ${at}`);
  }

  /** Leader completeness: a new leader's log holds every entry committed in an earlier term. */
  onBecomeLeader(id: NodeId, term: number, disk: MemoryStorage): void {
    const top = this.committedTerm.length - 1;
    for (let i = disk.snapshotIndex; i <= top; i++) {
      const want = this.committedTerm[i];
      if (want === undefined || i === 0 || (this.committedBy[i] as number) >= term) continue;
      const have = disk.term(i);
      if (have !== want) {
        this.fail('leader-completeness', `leader ${id} of term ${term} lacks committed entry ${i} (term ${want}); its log has ${have ?? 'nothing'} there`);
        return;
      }
    }
  }

  /**
   * State machine safety: the entries a node applies are, in order, the committed log — the next
   * index, within its commit, as in its own log and as every other node applied or committed there.
   */
  onApply(id: NodeId, e: Entry, applied: number, commit: number, disk: MemoryStorage): void {
    if (e.index !== applied + 1) this.fail('state-machine-safety', `${id} applies entry ${e.index} after ${applied}`);
    if (e.index > commit) this.fail('state-machine-safety', `${id} applies entry ${e.index} beyond its commit ${commit}`);
    const own = disk.term(e.index);
    if (own !== e.term) this.fail('state-machine-safety', `${id} applies entry ${e.index} of term ${e.term}, but its durable log has ${own === undefined ? 'no such entry' : `term ${own}`}`);
    this.checkCommitted(id, e.index, e.term, entryHash(e), disk.hardState.term);
  }

  /** A snapshot installed from the leader must not roll back applied state or contradict commits. */
  onInstallSnapshot(id: NodeId, snap: Snapshot, applied: number): void {
    const { index, term } = snap.meta;
    if (index < applied) this.fail('state-machine-safety', `${id} installs a snapshot at ${index} below its applied index ${applied}`);
    this.checkCommitted(id, index, term, UNKNOWN, Number.MAX_SAFE_INTEGER);
    this.commitMax = Math.max(this.commitMax, index);
  }

  /** Nodes whose state machines reached index i hold the same state there. */
  onStateAt(id: NodeId, index: number, stateHash: string): void {
    const known = this.stateAt.get(index);
    if (known === undefined) this.stateAt.set(index, stateHash);
    else if (known !== stateHash) this.fail('state-machine-safety', `${id} state at ${index} is ${stateHash}, another node had ${known}`);
  }

  onReadIssued(context: string): void {
    this.readFloor.set(context, this.commitMax);
  }

  /** Linearizable reads: the read index covers everything committed before the read was issued. */
  onReadState(id: NodeId, rs: ReadState): void {
    const floor = this.readFloor.get(rs.context);
    if (floor === undefined) this.fail('linearizability', `${id} got a ReadState for unknown context ${rs.context}`);
    else if (rs.index < floor) this.fail('linearizability', `${id} read ${rs.context} at index ${rs.index}, but ${floor} was committed before it was issued`);
  }

  fail(kind: ViolationKind, what: string): void {
    this.violations.push({ kind, message: `${this.where()}: ${what}` });
  }

  private onVoteGranted(m: Message, hs: HardState): void {
    const voter = nodeIndex(m.from);
    const key = m.term * MAX_NODES + voter;
    const earlier = this.votes.get(key);
    if (earlier !== undefined && earlier !== m.to) {
      this.fail('vote', `${m.from} voted twice in term ${m.term}: for ${earlier} and for ${m.to}`);
    }
    this.votes.set(key, m.to);
    // The vote must be durable before the grant leaves (a later term may have replaced it).
    if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
      this.fail('vote', `${m.from} granted its vote to ${m.to} in term ${m.term} before persisting it (disk: term ${hs.term} vote ${hs.vote})`);
    }
  }

  private checkPosition(id: NodeId, e: Entry, prevTerm: number): void {
    if (e.term >= TERM_LIMIT) throw new Error(`term ${e.term} exceeds the checker's packing limit`);
    const key = e.index * TERM_LIMIT + e.term;
    const hash = entryHash(e);
    const known = this.positions.get(key);
    if (known === undefined) {
      this.positions.set(key, { hash, prevTerm });
      return;
    }
    if (known.hash !== hash) this.fail('log-matching', `log matching: ${id} holds a different entry at index ${e.index} term ${e.term}`);
    if (known.prevTerm !== prevTerm && known.prevTerm !== UNKNOWN && prevTerm !== UNKNOWN) {
      this.fail('log-matching', `log matching: ${id} holds (${e.index}, term ${e.term}) after term ${prevTerm}; another log has it after term ${known.prevTerm}`);
    }
  }

  /** `by`: the committing node's current term (≥ the term in which the commit was decided). */
  private checkCommitted(id: NodeId, index: number, term: number, hash: number, by: number): void {
    const knownTerm = this.committedTerm[index];
    if (knownTerm === undefined) {
      this.committedTerm[index] = term;
      this.committedHash[index] = hash;
      this.committedBy[index] = by;
      return;
    }
    const knownHash = this.committedHash[index] as number;
    if (knownTerm !== term || (hash !== UNKNOWN && knownHash !== UNKNOWN && knownHash !== hash)) {
      this.fail('state-machine-safety', `${id} has entry ${index} (term ${term}) committed, but term ${knownTerm}'s entry was committed there`);
    } else if (knownHash === UNKNOWN) {
      this.committedHash[index] = hash;
    }
  }
}
