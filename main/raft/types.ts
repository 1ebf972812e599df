// The vocabulary of the consensus core: entries, messages, persistent state and the Ready batch.
// Everything here is plain data so that the peer can persist and serialize it cheaply.

/** Stable node id, independent of the node's network address. */
export type NodeId = string;

export const enum EntryType {
  /** Application command (opaque bytes) or, with empty data, the no-op a new leader appends. */
  Normal = 0,
  /** A single-server membership change; data is an encoded ConfChange. */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be on disk before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term` (null: nobody yet). */
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** The membership: voters decide elections and commits; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type ConfChangeType = 'addLearner' | 'promote' | 'addVoter' | 'remove';

/**
 * The founders' membership, written by the first leader of a new group as entry 1 (instead of
 * its no-op). Founders already know it from their InitialState; a node that joins later and
 * replays the log from entry 1 learns it here, so every replica derives the same membership
 * from the same log (etcd-io/raft bootstraps its log the same way).
 */
export interface ConfBootstrap {
  readonly type: 'bootstrap';
  readonly conf: ConfState;
}

/** One single-server membership change. `addVoter` adds a new node directly as a voter. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
  /** Opaque to the core (e.g. the node's address or certificate), handed back when applied. */
  readonly context?: string;
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly conf: ConfState;
}

/**
 * A snapshot of the application state. The core never reads `data`; it only carries it from the
 * application (compact) to lagging followers (InstallSnapshot) and on to their application. A real
 * peer may leave `data` empty and stream the snapshot file in its transport instead.
 */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export const enum MessageType {
  /** Local: a proposal, forwarded from a follower to the leader. */
  Prop = 0,
  PreVote = 1,
  PreVoteResp = 2,
  Vote = 3,
  VoteResp = 4,
  App = 5,
  AppResp = 6,
  Heartbeat = 7,
  HeartbeatResp = 8,
  Snap = 9,
  /** Leader → transferee: campaign now, ignoring the election timeout and leader leases. */
  TimeoutNow = 10,
  /** Follower → leader: please confirm leadership and tell me the read index for `context`. */
  ReadIndex = 11,
  ReadIndexResp = 12,
  /** Follower → leader: please hand leadership to me (used by "transfer leadership to this peer"). */
  TransferLeader = 13,
  /** Leader → follower: the commit index moved. An empty App that is never answered. */
  Commit = 14,
  /** Leader → a node outside its settled membership that wrote to it: you are not a member (RemovedError). */
  Removed = 15,
}

/** Names for logs and test transcripts. */
export const messageTypeNames: readonly string[] = [
  'Prop', 'PreVote', 'PreVoteResp', 'Vote', 'VoteResp', 'App', 'AppResp', 'Heartbeat',
  'HeartbeatResp', 'Snap', 'TimeoutNow', 'ReadIndex', 'ReadIndexResp', 'TransferLeader', 'Commit', 'Removed',
];

/**
 * One message between nodes. Fields are reused across types as in the Raft paper:
 * - App: `index`/`logTerm` identify the entry before `entries`; `commit` is the leader's commit.
 * - Commit: `index`/`logTerm` name the last entry sent to the follower, `commit` the leader's.
 * - AppResp: `index` is the last matching index (accepted) or the rejected probe index, with
 *   `rejectHint`/`logTerm` the follower's hint for fast backtracking.
 * - Vote/PreVote: `index`/`logTerm` are the candidate's last log position; `context` is
 *   "transfer" for an election forced by TimeoutNow.
 * - Heartbeat/HeartbeatResp/ReadIndex/ReadIndexResp: `context` carries a ReadIndex request id.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly context: string;
  readonly snapshot: Snapshot | null;
}

export const enum Role {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state worth reporting when it changes (role, known leader). */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: number;
}

/** A completed linearizable read: serve `context`'s read once applied ≥ `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/**
 * Work the core hands to its driver. Process in this order, then call `advance(ready)`:
 * 1. persist `snapshot` (install it), `entries` (append, replacing any suffix from
 *    entries[0].index) and `hardState` — durably (fsync);
 * 2. send `messages`;
 * 3. apply `committed` in order, recording the applied index atomically with each apply;
 * 4. answer `readStates` once applied ≥ their index.
 * `step()`, `tick()` and proposals may still be called between `ready()` and `advance()` (a
 * slow disk must not stop the node from hearing its peers); the next Ready starts where this
 * one ended. Only one Ready may be outstanding at a time.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/**
 * Entries the node still holds on disk below its snapshot index (the in-memory log starts after
 * it). A leader sends a follower whose next entry lies there these entries instead of a
 * snapshot, as etcd-io/raft's Storage lets it; they are committed, so they never change.
 */
export interface CompactedLog {
  /** Term of the entry at `index`, or undefined when it is no longer held. */
  term(index: number): number | undefined;
  /** Held entries from `lo` to at most `hi`, in order: at most `maxBytes` of data but at least one ([] when `lo` is not held). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
}

/** State the driver restores from storage when a node (re)starts. */
export interface InitialState {
  readonly hardState: HardState;
  /** How far the stored log is compacted, as a snapshot's metadata (its data may be empty; the core never reads it). */
  readonly snapshot: Snapshot | null;
  /** Membership when there is no snapshot and no conf-change entries (a new group's founders). */
  readonly conf: ConfState;
  /** Durable log entries after the snapshot, in order. */
  readonly entries: readonly Entry[];
  /** Highest index the application has applied (0 if none; ≥ snapshot index). */
  readonly applied: number;
  /** The entries still held below the snapshot (none when absent). */
  readonly compacted?: CompactedLog;
}

/**
 * Deliberate bugs for proving that the simulator's checkers bite. Never set outside tests.
 * Each one breaks a specific rule of the Raft paper.
 */
export interface PlantedBugs {
  /** Grant votes without the "candidate's log is at least as up to date" check (§5.4.1). */
  readonly voteWithoutLogCheck?: boolean;
  /** Count replicas for entries of previous terms too (violates §5.4.2, Figure 8). */
  readonly commitPreviousTerm?: boolean;
  /** Forget which node we voted for when the term does not change (double voting). */
  readonly forgetVote?: boolean;
  /** Follower appends without checking the previous entry's term (breaks log matching). */
  readonly skipPrevLogCheck?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Base election timeout in ticks; each node waits a random [base, 2·base) ticks. */
  readonly electionTicks: number;
  /** Leader heartbeat interval in ticks (< electionTicks). */
  readonly heartbeatTicks: number;
  /** Seeded randomness in [0, 1). The core has no other source of randomness. */
  readonly random: () => number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Max entries' bytes in one App message (batching). */
  readonly maxMsgBytes: number;
  /** Max App messages in flight to one follower (pipelining window). */
  readonly maxInflightMsgs: number;
  /** Max entry bytes in flight to one follower. */
  readonly maxInflightBytes: number;
  /** Refuse new proposals while this many bytes of uncommitted entries are in the log. */
  readonly maxUncommittedBytes: number;
  /**
   * A follower that holds every entry sent and waits for none of them learns of a new commit
   * index from the next App, or from a Commit once the driver calls flushCommitNotices() (or at
   * the next tick), instead of from a Commit at once. See Raft.broadcastCommit.
   */
  readonly deferCommitNotices: boolean;
  readonly bugs?: PlantedBugs;
}

export const defaultConfig: Omit<RaftConfig, 'id' | 'random'> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxMsgBytes: 1 << 20,
  maxInflightMsgs: 256,
  maxInflightBytes: 32 << 20,
  maxUncommittedBytes: 64 << 20,
  deferCommitNotices: false,
};

/** Why a proposal was refused. The caller may retry (with the same request id) later. */
export type ProposeError = 'not-leader' | 'no-leader' | 'transferring' | 'conf-change-pending' | 'too-many-uncommitted' | 'not-member';

export class ProposalDropped extends Error {
  constructor(readonly reason: ProposeError) {
    // Dropped proposals are routine (no leader yet) and callers never need where they came
    // from: skipping the stack trace makes them cheap.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`proposal dropped: ${reason}`);
    Error.stackTraceLimit = limit;
    this.name = 'ProposalDropped';
  }
}

/**
 * The leader counts entries as held here that this log no longer has: this node acknowledged
 * them and then lost them (its data was put back from an older copy, or the disk dropped writes
 * it had confirmed). Its acknowledgements, and perhaps its votes, were counted, so going on with
 * this data could let a committed entry be lost: it must stop, and rejoin as a new member.
 * Thrown by step() (for the heartbeat that shows it) before anything changed.
 */
export class LostLogError extends Error {
  constructor(readonly leader: NodeId, readonly heldByLeader: number, readonly lastIndex: number) {
    super(`the leader (${leader}) counts entries up to ${heldByLeader} as held by this peer, but its log ends at ${lastIndex}: ` +
      'entries it had confirmed are gone (its data was put back from an older copy, or the disk lost writes). ' +
      'It must not take part with this data: have another member remove it from the group, then delete its data and join again');
    this.name = 'LostLogError';
  }
}

/**
 * The leader says this node is not a member: it was removed while it was down or cut off, so the
 * entry that removed it never reached it, and it went on as a member nobody listens to (calling
 * elections nobody answers). Thrown by step() for the leader's Removed message, once this node
 * counts itself a member; its driver stops it as if it had applied its own removal.
 */
export class RemovedError extends Error {
  constructor(readonly leader: NodeId) {
    super(`the leader (${leader}) says this peer is no longer a member of the group: it was removed while it was away`);
    this.name = 'RemovedError';
  }
}

/** Per-member replication state as the leader sees it (for status and the admin panel). */
export interface MemberStatus {
  readonly id: NodeId;
  readonly voter: boolean;
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly conf: ConfState;
  readonly transferee: NodeId | null;
  /** Only on the leader. */
  readonly progress: readonly MemberStatus[];
}
