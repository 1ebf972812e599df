// The Raft protocol as one state machine: a step function per role, driven by tick() and step().
// Rules are cited from the Raft paper (§) and Ongaro's dissertation; structure after etcd-io/raft.
import {
  applyConfChange, confChangeProblem, decodeConfChangeOrNull, encodeConfChange, isMember,
} from './confchange.js';
import { RaftLog } from './log.js';
import { Progress, ProgressState } from './progress.js';
import { committedIndex, hasQuorum, voteResult } from './quorum.js';
import { ReadOnlyQueue } from './readonly.js';
import {
  EntryType, LostLogError, MessageType, ProposalDropped, RemovedError, Role,
  type ConfChange, type ConfState, type Entry, type InitialState, type Message, type NodeId,
  type RaftConfig, type ReadState, type Snapshot,
} from './types.js';

/** Context of a Vote sent because of TimeoutNow: voters then ignore their leader lease. */
const TRANSFER = 'transfer';
/**
 * Apps of entries read from disk (below the snapshot) go at most this many to one follower
 * before an answer, and at most this large (see windowFull()). A 1 MiB App of about 5,000
 * entries took 10 ms to read and encode, up to 70 ms on a loaded machine: four of them in one
 * turn held a leader's heartbeats past an election timeout (Round 14).
 */
const maxAppsFromDisk = 4;
const maxAppBytesFromDisk = 256 << 10;

type MessageFields = Partial<Omit<Message, 'type' | 'to' | 'from'>>;

export class Raft {
  readonly id: NodeId;
  readonly cfg: RaftConfig;
  term: number;
  vote: NodeId | null;
  role: Role = Role.Follower;
  leader: NodeId | null = null;
  readonly log: RaftLog;
  conf: ConfState;
  /** Membership after each applied conf change (oldest first), to label snapshots. */
  private confHistory: { index: number; conf: ConfState }[];
  /** Leader only: replication state of every member (self included). */
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  msgs: Message[] = [];
  /** A commit notice was deferred (see broadcastCommit): the driver should flush soon. */
  commitNoticeDue = false;
  readStates: ReadState[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  transferee: NodeId | null = null;
  /** Leader only: no new conf change until applied reaches this index (one change at a time). */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private readonly reads = new ReadOnlyQueue();

  constructor(cfg: RaftConfig, init: InitialState) {
    if (cfg.heartbeatTicks >= cfg.electionTicks) throw new Error('raft: heartbeatTicks must be < electionTicks');
    this.id = cfg.id;
    this.cfg = cfg;
    this.term = init.hardState.term;
    this.vote = init.hardState.vote;
    this.log = new RaftLog(init.snapshot, init.entries, init.hardState.commit, init.applied, init.compacted ?? null);
    const base = init.snapshot?.meta ?? { index: 0, conf: init.conf };
    this.conf = base.conf;
    this.confHistory = [{ index: base.index, conf: base.conf }];
    this.replayAppliedConfChanges();
    this.resetElectionTimer();
  }

  // ---- driving -------------------------------------------------------------------------------

  tick(): void {
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): void {
    if (m.type === MessageType.Removed) return this.handleRemoved(m);
    if (this.fromNonMember(m)) return;
    if (!this.admitTerm(m)) return;
    switch (m.type) {
      case MessageType.PreVote:
      case MessageType.Vote:
        this.handleVoteRequest(m);
        return;
    }
    if (this.role === Role.Leader) this.stepLeader(m);
    else if (this.role === Role.Follower) this.stepFollower(m);
    else this.stepCandidate(m);
  }

  /** Starts an election now (pre-vote first unless `transfer`), if this node may stand. */
  hup(transfer = false): void {
    if (this.role === Role.Leader || !this.promotable()) return;
    if (this.hasUnappliedConfChange()) return; // its outcome could change who may vote
    if (this.cfg.preVote && !transfer) this.campaign(true, false);
    else this.campaign(false, transfer);
  }

  propose(entries: readonly Entry[]): void {
    if (this.role === Role.Leader) {
      this.appendProposal(entries);
      return;
    }
    if (this.leader === null) throw new ProposalDropped('no-leader');
    this.send(MessageType.Prop, this.leader, { term: 0, entries });
  }

  proposeConfChange(cc: ConfChange, data: Uint8Array): void {
    if (this.role !== Role.Leader) throw new ProposalDropped(this.leader === null ? 'no-leader' : 'not-leader');
    const problem = confChangeProblem(this.conf, cc);
    if (problem !== null) throw new Error(`invalid membership change: ${problem}`);
    this.appendProposal([{ term: 0, index: 0, type: EntryType.ConfChange, data }]);
  }

  readIndex(context: string): void {
    if (this.role === Role.Leader) this.leaderReadIndex(this.id, context);
    else if (this.leader !== null) this.send(MessageType.ReadIndex, this.leader, { term: 0, context });
    else throw new ProposalDropped('no-leader');
  }

  transferLeadership(to: NodeId): void {
    if (this.role === Role.Leader) this.startTransfer(to);
    else if (this.leader !== null) this.send(MessageType.TransferLeader, this.leader, { term: 0, context: to });
    else throw new ProposalDropped('no-leader');
  }

  /** The application snapshotted its state at `index` (≤ applied): compact the log. */
  compact(index: number, data: Uint8Array): Snapshot | null {
    if (index <= this.log.offset) return null;
    const term = this.log.termAt(index);
    if (term === undefined || index > this.log.applied) throw new Error(`raft: cannot compact at ${index} (applied ${this.log.applied})`);
    const snapshot: Snapshot = { meta: { index, term, conf: this.confAt(index) }, data };
    this.log.compact(snapshot);
    this.forgetConfHistoryBefore(index);
    return snapshot;
  }

  /** The transport could not reach `to`: stop streaming optimistically and probe again. */
  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.state === ProgressState.Replicate) pr.becomeProbe();
  }

  /** The driver applied a committed conf-change entry: membership changes now (etcd style). */
  applyConfEntry(entry: Entry): void {
    const cc = decodeConfChangeOrNull(entry.data);
    if (cc === null) return; // a corrupt change is a no-op on every replica alike
    this.conf = applyConfChange(this.conf, cc);
    this.confHistory.push({ index: entry.index, conf: this.conf });
    if (this.role === Role.Leader) this.leaderConfChanged();
  }

  /** A snapshot received from the leader was installed: adopt its membership. */
  snapshotInstalled(snapshot: Snapshot): void {
    this.log.snapshotInstalled(snapshot.meta.index);
  }

  promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  // ---- nodes outside the membership (dissertation §4.2.3) ------------------------------------

  /**
   * A node that was removed while it was down or cut off never gets the entry that removed it,
   * and goes on calling elections that nobody answers. A leader whose membership is settled (no
   * change in flight, this term's first entry applied: its conf then holds every committed
   * change) tells a node outside it so, and ignores what it sent. A node being added only writes
   * to the leader once the leader has applied its addition. A sender of a later term goes the
   * usual way: it may lead a membership this leader has not heard of (a pre-vote asks for the
   * term after the sender's own).
   */
  private fromNonMember(m: Message): boolean {
    if (this.role !== Role.Leader || m.from === this.id || isMember(this.conf, m.from)) return false;
    const senderTerm = m.type === MessageType.PreVote ? m.term - 1 : m.term;
    if (this.pendingConfIndex > this.log.applied || senderTerm > this.term) return false;
    this.send(MessageType.Removed, m.from, {});
    return true;
  }

  /** The leader says we are not a member; ignored if stale, or if we do not count ourselves one. */
  private handleRemoved(m: Message): void {
    if (m.term < this.term || !isMember(this.conf, this.id)) return;
    throw new RemovedError(m.from);
  }

  // ---- terms and votes (Figure 2 "All servers", §5.1, §9.6 pre-vote, §6.2 leases) --------------

  /** Applies the term rules; returns false when the message must be ignored. */
  private admitTerm(m: Message): boolean {
    if (m.term === 0) return true; // local or forwarded request (Prop, ReadIndex, TransferLeader)
    if (m.term > this.term) return this.higherTerm(m);
    if (m.term < this.term) {
      this.answerStaleTerm(m);
      return false;
    }
    return true;
  }

  private higherTerm(m: Message): boolean {
    const isVote = m.type === MessageType.Vote || m.type === MessageType.PreVote;
    if (isVote && m.context !== TRANSFER && this.inLease()) return false; // §6.2: a leader is alive
    if (m.type === MessageType.PreVote) return true; // pre-votes never change our term
    if (m.type === MessageType.PreVoteResp && !m.reject) return true; // granted for a future term
    const fromLeader = m.type === MessageType.App || m.type === MessageType.Commit || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  private answerStaleTerm(m: Message): void {
    if (m.type === MessageType.App || m.type === MessageType.Commit || m.type === MessageType.Heartbeat) {
      // A deposed leader cut off by check-quorum or pre-vote would otherwise never learn the term.
      this.send(MessageType.AppResp, m.from, {});
    } else if (m.type === MessageType.PreVote) {
      this.send(MessageType.PreVoteResp, m.from, { reject: true });
    }
  }

  /** With check-quorum, a follower that heard from a leader within the election timeout. */
  private inLease(): boolean {
    return this.cfg.checkQuorum && this.leader !== null && this.electionElapsed < this.cfg.electionTicks;
  }

  private handleVoteRequest(m: Message): void {
    const pre = m.type === MessageType.PreVote;
    const respType = pre ? MessageType.PreVoteResp : MessageType.VoteResp;
    const canVote = this.vote === m.from || (this.vote === null && this.leader === null) || (pre && m.term > this.term);
    const upToDate = this.cfg.bugs?.voteWithoutLogCheck === true || this.log.isUpToDate(m.index, m.logTerm);
    if (canVote && upToDate) {
      // A pre-vote is answered in the term it asks for; a real vote is recorded (and persisted first).
      this.send(respType, m.from, { term: m.term });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(respType, m.from, { reject: true });
    }
  }

  private campaign(pre: boolean, transfer: boolean): void {
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    const term = pre ? this.term + 1 : this.term;
    if (this.recordVote(this.id, true) === 'won') {
      if (pre) this.campaign(false, false);
      else this.becomeLeader();
      return;
    }
    const type = pre ? MessageType.PreVote : MessageType.Vote;
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      this.send(type, id, { term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), context: transfer ? TRANSFER : '' });
    }
  }

  private recordVote(id: NodeId, granted: boolean) {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.conf.voters, this.votes);
  }

  // ---- role transitions ----------------------------------------------------------------------

  becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.role = Role.Follower;
    this.leader = leader;
  }

  private becomePreCandidate(): void {
    // Term and vote stay as they are: a pre-election changes nothing durable (§9.6).
    this.votes.clear();
    this.resetTimers();
    this.dropLeaderState();
    this.role = Role.PreCandidate;
    this.leader = null;
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = Role.Leader;
    this.leader = this.id;
    for (const id of this.members()) this.progress.set(id, this.newProgress(id === this.id));
    this.pendingConfIndex = 0;
    this.appendProposal([this.firstEntryOfTerm()]);
    // No conf change until this term's no-op is applied: this closes the known single-server-change
    // bug (a leader must commit an entry of its term first). Waiting only for the entries before
    // the no-op is not enough: they may all be committed already while this term has none.
    this.pendingConfIndex = this.log.lastIndex();
  }

  /** A no-op, except for the first leader of a new group: it records the founders' membership. */
  private firstEntryOfTerm(): Entry {
    if (this.log.lastIndex() === 0) {
      return { term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ type: 'bootstrap', conf: this.conf }) };
    }
    return { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    } else if (this.cfg.bugs?.forgetVote === true) {
      this.vote = null;
    }
    this.leader = null;
    this.votes.clear();
    this.resetTimers();
    this.dropLeaderState();
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimer();
  }

  private dropLeaderState(): void {
    this.progress.clear();
    this.transferee = null;
    this.uncommittedBytes = 0;
    this.reads.clear();
    this.commitNoticeDue = false;
  }

  private resetElectionTimer(): void {
    this.randomizedElectionTimeout = this.cfg.electionTicks + Math.floor(this.cfg.random() * this.cfg.electionTicks);
  }

  // ---- ticks ---------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.checkQuorumActive()) {
        this.becomeFollower(this.term, null); // §6.2: a leader cut off from a majority steps down
        return;
      }
      this.transferee = null; // a transfer that did not finish in an election timeout is abandoned
    }
    this.tickSnapshots();
    this.flushCommitNotices(); // the latest a deferred notice goes, whatever the driver does
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat('');
    }
  }

  private checkQuorumActive(): boolean {
    const ok = hasQuorum(this.conf.voters, (id) => id === this.id || this.progress.get(id)?.recentActive === true);
    for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
    return ok;
  }

  /** A snapshot that was never acknowledged (lost on the way) is offered again. */
  private tickSnapshots(): void {
    for (const pr of this.progress.values()) {
      if (pr.state === ProgressState.Snapshot && ++pr.snapshotTicks >= 2 * this.cfg.electionTicks) pr.becomeProbe();
    }
  }

  // ---- follower and candidate ----------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
      case MessageType.Commit:
      case MessageType.Heartbeat:
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleFromLeader(m);
        return;
      case MessageType.TimeoutNow:
        this.hup(true);
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        // Prop, ReadIndex or TransferLeader from a node that thinks we lead: only the leader
        // takes them; the asker times out and retries (proposals keep their request id).
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.App:
      case MessageType.Commit:
      case MessageType.Heartbeat:
      case MessageType.Snap:
        // A leader exists for our term (§5.2): step down.
        this.becomeFollower(m.term, m.from);
        this.handleFromLeader(m);
        return;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp:
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: Message): void {
    const pre = this.role === Role.PreCandidate;
    if ((m.type === MessageType.PreVoteResp) !== pre) return; // a stray answer from another phase
    const result = this.recordVote(m.from, !m.reject);
    if (result === 'won') {
      if (pre) this.campaign(false, false);
      else this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, null);
    }
  }

  private handleFromLeader(m: Message): void {
    if (m.type === MessageType.App) this.handleAppend(m);
    else if (m.type === MessageType.Commit) this.handleCommit(m);
    else if (m.type === MessageType.Heartbeat) this.handleHeartbeat(m);
    else this.handleSnapshot(m);
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(MessageType.AppResp, m.from, { index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries, this.cfg.bugs?.skipPrevLogCheck === true);
    if (lastNew !== undefined) {
      this.send(MessageType.AppResp, m.from, { index: lastNew });
      return;
    }
    const [hint, hintTerm] = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(MessageType.AppResp, m.from, { index: m.index, reject: true, rejectHint: hint, logTerm: hintTerm });
  }

  /**
   * Commits what the leader's commit index covers of a log that matches the leader's up to
   * `index` (log matching: then every entry before it matches too). A log that does not match
   * ignores it: the next App or heartbeat round repairs that, and no answer is owed.
   */
  private handleCommit(m: Message): void {
    if (this.log.matchTerm(m.index, m.logTerm)) this.log.commitTo(Math.min(m.commit, m.index));
  }

  /**
   * A heartbeat's commit is never past what this node acknowledged (broadcastHeartbeat), and an
   * acknowledged entry is durable: a commit past the end of the log means the log lost entries.
   */
  private handleHeartbeat(m: Message): void {
    if (m.commit > this.log.lastIndex()) throw new LostLogError(m.from, m.commit, this.log.lastIndex());
    this.log.commitTo(m.commit);
    this.send(MessageType.HeartbeatResp, m.from, { context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const snapshot = m.snapshot;
    if (snapshot !== null && this.restore(snapshot)) {
      this.send(MessageType.AppResp, m.from, { index: this.log.lastIndex() });
    } else {
      this.send(MessageType.AppResp, m.from, { index: this.log.committed });
    }
  }

  /** Installs a leader's snapshot unless our log already covers it. Returns whether it did. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, conf } = snapshot.meta;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      this.log.commitTo(index); // we hold those entries already: just learn they are committed
      return false;
    }
    this.log.restore(snapshot);
    this.conf = conf;
    this.confHistory = [{ index, conf }];
    return true;
  }

  // ---- leader --------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        this.leaderTakeProposal(m);
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m.from, m.context);
        return;
      case MessageType.TransferLeader:
        this.startTransfer(m.context);
        return;
    }
    const pr = this.progress.get(m.from);
    if (pr === undefined) return; // not a member (any more)
    pr.recentActive = true;
    if (m.type === MessageType.AppResp) this.handleAppendResponse(m, pr);
    else if (m.type === MessageType.HeartbeatResp) this.handleHeartbeatResponse(m, pr);
  }

  private leaderTakeProposal(m: Message): void {
    try {
      this.appendProposal(m.entries);
      const pr = this.progress.get(m.from);
      if (pr !== undefined) pr.commitWanted = this.log.lastIndex();
    } catch (err) {
      if (!(err instanceof ProposalDropped)) throw err;
      // Forwarded proposals are dropped silently; the client retries with the same request id.
    }
  }

  private appendProposal(proposed: readonly Entry[]): void {
    if (this.transferee !== null) throw new ProposalDropped('transferring');
    let bytes = 0;
    for (const e of proposed) bytes += e.data.length;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes) {
      throw new ProposalDropped('too-many-uncommitted');
    }
    const entries = this.stampEntries(proposed);
    this.uncommittedBytes += bytes;
    this.log.append(entries);
    (this.progress.get(this.id) as Progress).maybeUpdate(this.log.lastIndex());
    if (!this.maybeCommit()) this.broadcastAppend();
  }

  /** Gives proposed entries their term and index; enforces one conf change in flight. */
  private stampEntries(proposed: readonly Entry[]): Entry[] {
    let index = this.log.lastIndex();
    const out: Entry[] = [];
    for (const e of proposed) {
      index++;
      if (e.type === EntryType.ConfChange) {
        if (this.pendingConfIndex > this.log.applied) throw new ProposalDropped('conf-change-pending');
        this.pendingConfIndex = index;
      }
      out.push({ term: this.term, index, type: e.type, data: e.data });
    }
    return out;
  }

  /** Figure 2 "Leaders", last rule: commit by a majority of voters, current-term entries only. */
  private maybeCommit(): boolean {
    const index = committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (index <= this.log.committed) return false;
    if (this.log.termAt(index) !== this.term && this.cfg.bugs?.commitPreviousTerm !== true) return false;
    const before = this.log.committed;
    this.log.commitTo(index);
    let removed: NodeId | null = null; // one conf change in flight at a time: at most one removal
    for (let i = before + 1; i <= index; i++) {
      const entry = this.log.entryAt(i) as Entry;
      this.uncommittedBytes -= entry.data.length;
      if (entry.type !== EntryType.ConfChange) continue;
      const cc = decodeConfChangeOrNull(entry.data);
      if (cc?.type === 'remove') removed = cc.node;
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    this.releaseReadsWaitingForCommit();
    this.broadcastCommit(removed);
    return true;
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm)[0] : m.rejectHint;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from, pr, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    // A probe answered at our current match also proves where the follower stands.
    const probeConfirmed = pr.state === ProgressState.Probe && pr.match === m.index;
    if (!pr.maybeUpdate(m.index) && !probeConfirmed) return;
    this.advanceProgressState(pr);
    if (!this.maybeCommit() && wasPaused) this.sendAppend(m.from, pr, true);
    while (this.sendAppend(m.from, pr, false)); // fill the pipeline window
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.send(MessageType.TimeoutNow, m.from, {});
  }

  private advanceProgressState(pr: Progress): void {
    if (pr.state === ProgressState.Probe) pr.becomeReplicate();
    else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(pr.match);
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.probeSent = false;
    // The follower is alive but our window is full: an App may have been lost. Free one slot so
    // the next App goes out; a gap makes the follower reject it and we fall back to probing.
    if (pr.state === ProgressState.Replicate && this.windowFull(pr)) pr.inflights.freeFirst();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, pr, true);
    if (m.context === '') return;
    for (const read of this.reads.acknowledge(m.context, m.from, this.conf.voters)) this.answerRead(read.from, read.index, read.context);
  }

  /**
   * Sends the next App (or the snapshot) to a follower. With `sendIfEmpty` false nothing is sent
   * unless there are entries. Returns whether something was sent.
   */
  private sendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (to === this.id || pr.isPaused() || (pr.state === ProgressState.Replicate && this.windowFull(pr))) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.termForSend(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    const maxBytes = this.sendsFromDisk(pr) ? Math.min(this.cfg.maxMsgBytes, maxAppBytesFromDisk) : this.cfg.maxMsgBytes;
    const entries = this.log.sliceForSend(pr.next, this.log.lastIndex(), maxBytes);
    if (entries.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of entries) bytes += e.data.length;
    this.send(MessageType.App, to, { index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    pr.commitSent = Math.max(pr.commitSent, Math.min(this.log.committed, prevIndex + entries.length));
    pr.sentEntries(entries.length, prevIndex + entries.length, bytes);
    return true;
  }

  /**
   * Whether no more Apps may go to this follower before an answer. Entries below our snapshot
   * are read from disk, synchronously: a whole window of them (up to maxInflightBytes) read at
   * once would hold up everything else, heartbeats included, so those go a few at a time.
   */
  private windowFull(pr: Progress): boolean {
    return pr.inflights.full() || (this.sendsFromDisk(pr) && pr.inflights.count >= maxAppsFromDisk);
  }

  /** Whether the next App to this follower carries entries below our snapshot (CompactedLog). */
  private sendsFromDisk(pr: Progress): boolean {
    return pr.next <= this.log.offset;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot = this.log.snapshot;
    if (snapshot === null || !pr.recentActive) return false;
    this.send(MessageType.Snap, to, { snapshot });
    pr.becomeSnapshot(snapshot.meta.index);
    return true;
  }

  private broadcastAppend(): void {
    for (const [id, pr] of this.progress) this.sendAppend(id, pr, true);
  }

  /**
   * Tells every follower the new commit index: with the entries it still lacks, or, for a
   * follower streaming (Replicate) that has been sent everything, in a Commit, which is not
   * answered. An empty App would be: one more message per follower per commit, only to repeat
   * an acknowledgement the leader already has (a quarter of all messages with one writer).
   *
   * With deferCommitNotices, that Commit goes at once only to a follower waiting for the
   * entries (commitWanted); the others learn the index from the next App, which with steady
   * writes follows within a millisecond, or from the Commit flushCommitNotices() sends a little
   * later. With one writer that saves a third of all peer messages, sent and received right when
   * the leader answers its client and the next write arrives. A member whose removal just
   * committed is told at once: its progress goes when the change is applied, and a deferred
   * notice with it, so it would never learn that it was removed (and its peer never stop).
   */
  private broadcastCommit(removed: NodeId | null): void {
    const last = this.log.lastIndex();
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      if (pr.state !== ProgressState.Replicate || pr.next <= last) this.sendAppend(id, pr, true);
      else if (!this.cfg.deferCommitNotices || pr.commitWanted > pr.commitSent || id === removed) this.noticeCommit(id, pr);
      else this.commitNoticeDue = true;
    }
  }

  /** Sends the deferred commit notices (see broadcastCommit). */
  flushCommitNotices(): void {
    if (!this.commitNoticeDue) return;
    this.commitNoticeDue = false;
    if (this.role !== Role.Leader) return;
    for (const [id, pr] of this.progress) if (id !== this.id) this.noticeCommit(id, pr);
  }

  /** A Commit to a follower that has been sent every entry, if it tells it something new. */
  private noticeCommit(to: NodeId, pr: Progress): void {
    if (pr.state !== ProgressState.Replicate || pr.next <= this.log.lastIndex()) return;
    const index = pr.next - 1;
    const commit = Math.min(this.log.committed, index);
    const logTerm = this.log.termAt(index);
    if (commit <= pr.commitSent || logTerm === undefined) return;
    this.send(MessageType.Commit, to, { index, logTerm, commit: this.log.committed });
    pr.commitSent = commit;
  }

  private broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send(MessageType.Heartbeat, id, { commit, context });
      pr.commitSent = Math.max(pr.commitSent, commit);
    }
  }

  // ---- ReadIndex (dissertation §6.4) ---------------------------------------------------------

  private leaderReadIndex(from: NodeId, context: string): void {
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(from, this.log.committed, context);
      return;
    }
    // Until an entry of this term commits, our commit index may lag the true one.
    const ready = this.log.termAt(this.log.committed) === this.term;
    this.reads.add({ from, context, index: this.log.committed, waitingForCommit: !ready }, this.id);
    if (ready) this.broadcastHeartbeat(context);
  }

  private releaseReadsWaitingForCommit(): void {
    for (const context of this.reads.releaseCommitWait(this.log.committed)) this.broadcastHeartbeat(context);
  }

  private answerRead(from: NodeId, index: number, context: string): void {
    if (from === this.id) {
      this.readStates.push({ index, context });
      return;
    }
    this.send(MessageType.ReadIndexResp, from, { index, context });
    const pr = this.progress.get(from);
    if (pr === undefined) return;
    pr.commitWanted = Math.max(pr.commitWanted, index); // the reader waits to apply up to `index`
    this.noticeCommit(from, pr);
  }

  // ---- leadership transfer (dissertation §3.10) ----------------------------------------------

  private startTransfer(to: NodeId): void {
    if (to === this.id || !this.conf.voters.includes(to) || this.transferee === to) return;
    const pr = this.progress.get(to);
    if (pr === undefined) return;
    this.transferee = to;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    if (pr.match === this.log.lastIndex()) this.send(MessageType.TimeoutNow, to, {});
    else this.sendAppend(to, pr, true);
  }

  // ---- membership ----------------------------------------------------------------------------

  private members(): NodeId[] {
    return [...this.conf.voters, ...this.conf.learners];
  }

  private newProgress(self: boolean): Progress {
    const pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    pr.recentActive = true; // give every member one election timeout before check-quorum judges it
    if (self) {
      pr.match = this.log.lastIndex();
      pr.becomeReplicate();
    }
    return pr;
  }

  private leaderConfChanged(): void {
    for (const id of this.members()) if (!this.progress.has(id)) this.progress.set(id, this.newProgress(false));
    for (const id of [...this.progress.keys()]) if (!isMember(this.conf, id)) this.progress.delete(id);
    if (this.transferee !== null && !this.conf.voters.includes(this.transferee)) this.transferee = null;
    if (!this.conf.voters.includes(this.id)) {
      this.stepDownAfterRemoval();
      return;
    }
    if (!this.maybeCommit()) this.broadcastAppend(); // the quorum changed
  }

  /** A leader removed from the voters hands over to the most caught-up voter, then steps down. */
  private stepDownAfterRemoval(): void {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const id of this.conf.voters) {
      const match = this.progress.get(id)?.match ?? 0;
      if (match > bestMatch) [best, bestMatch] = [id, match];
    }
    if (best !== null && bestMatch === this.log.lastIndex()) this.send(MessageType.TimeoutNow, best, {});
    this.becomeFollower(this.term, null);
  }

  private hasUnappliedConfChange(): boolean {
    for (let i = this.log.applied + 1; i <= this.log.committed; i++) {
      if (this.log.entryAt(i)?.type === EntryType.ConfChange) return true;
    }
    return false;
  }

  private replayAppliedConfChanges(): void {
    for (let i = this.log.firstIndex(); i <= this.log.applied; i++) {
      const e = this.log.entryAt(i);
      if (e?.type === EntryType.ConfChange) this.applyConfEntry(e);
    }
  }

  /** Index into confHistory of the membership in force at log index `index`. */
  private confPosition(index: number): number {
    let at = 0;
    this.confHistory.forEach((c, i) => {
      if (c.index <= index) at = i;
    });
    return at;
  }

  private confAt(index: number): ConfState {
    return (this.confHistory[this.confPosition(index)] as { conf: ConfState }).conf;
  }

  private forgetConfHistoryBefore(index: number): void {
    this.confHistory = this.confHistory.slice(this.confPosition(index));
  }

  // ---- messages ------------------------------------------------------------------------------

  private send(type: MessageType, to: NodeId, f: MessageFields): void {
    this.msgs.push({
      type, to, from: this.id,
      term: f.term ?? this.term,
      logTerm: f.logTerm ?? 0,
      index: f.index ?? 0,
      commit: f.commit ?? 0,
      entries: f.entries ?? [],
      reject: f.reject ?? false,
      rejectHint: f.rejectHint ?? 0,
      context: f.context ?? '',
      snapshot: f.snapshot ?? null,
    });
  }
}
