// One Peer = the consensus core + storage + transport + the chat state machine. It drives the
// core with a ticker, turns every Ready into "persist → send → apply → advance", batches client
// proposals into one append per event-loop turn, and tells waiting clients when their command
// has been applied on this replica.
import { EventEmitter } from 'node:events';
import type { PeerCertificate } from 'node:tls';
import type { ChatResult, Command } from '../chat/commands.js';
import { encodeCommand } from '../chat/commands.js';
import { ChatMachine, type AppliedCommand } from '../chat/machine.js';
import { MemberRows } from '../chat/members.js';
import { chatSchema } from '../chat/migrations/index.js';
import { ChatQueries } from '../chat/queries.js';
import { latestRules, type SessionLimits } from '../chat/sessions.js';
import { decodeConfChange } from '../raft/confchange.js';
import { RaftNode } from '../raft/node.js';
import {
  defaultConfig, EntryType, LostLogError, ProposalDropped, RemovedError, Role,
  type ConfChange, type Entry, type Message, type NodeId, type RaftStatus, type Ready, type SoftState, type SnapshotMeta,
} from '../raft/types.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { Storage } from '../storage/storage.js';
import { certificateIdentity, type PeerTls } from '../security/tls.js';
import {
  Transport, type MembershipCalls, type MembershipHandlers, type ServiceRegistration, type SnapshotStore,
} from '../transport/transport.js';
import type { AutopilotRunner } from './autopilot-runner.js';
import { readMemberBook, writeMemberBook } from './member-book.js';
import { encodeMemberContext, memberContextOf } from './member-context.js';
import { NoQuorumError, PeerStoppedError, TimeoutError } from './errors.js';
import { Waiters } from './waiters.js';
import { appliesBeforeSync, splitBeforeSync } from './early-send.js';
import { DeferredRun } from './deferred-run.js';

export interface PeerTiming {
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

/** LAN defaults: election timeout 250–500 ms, heartbeats every 50 ms. */
export const defaultTiming: PeerTiming = { tickMs: 25, electionTicks: 10, heartbeatTicks: 2 };

export interface PeerOptions {
  readonly dataDir: string;
  readonly id: NodeId;
  /** host:port to serve peers on (port 0: any free port). */
  readonly listen: string;
  /** Every founding member's address, this peer's included (static membership). */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly timing?: PeerTiming;
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotEvery?: number;
  /** Log entries kept below the snapshot, sent to followers that far behind instead of a snapshot (defaultRetainedEntries). */
  readonly retainedEntries?: number;
  /** What replaying one kept entry is worth in bytes of a copy of chat.db (defaultReplayEntryBytes; 0: replay whatever is kept). */
  readonly replayEntryBytes?: number;
  /** A write that cannot commit in this time fails with NoQuorumError. */
  readonly writeTimeoutMs?: number;
  readonly logger?: Logger;
  /**
   * Other gRPC services to serve on `listen` (the ChatService); made once the Peer exists and
   * added before the port is bound, so that no call finds them missing.
   */
  readonly services?: (peer: Peer) => readonly ServiceRegistration[];
  /**
   * Mutual TLS for every peer RPC (group peers). Without it peer traffic is plaintext and the
   * sender id is trusted: the static `--peers` form, for trusted networks and tests.
   */
  readonly tls?: PeerTls;
  /** A second address without TLS for local clients (see TransportOptions.clientListen). */
  readonly clientListen?: string;
  /** Serves the Join and Leave RPCs (group peers): made once the Peer exists. */
  readonly membership?: (peer: Peer) => MembershipHandlers;
  /**
   * Called once the peer has stopped after a storage failure (see Peer.fatal). Default: throw the
   * error, uncaught, so that the process ends loudly as a failure at start would.
   */
  readonly onFatal?: (err: Error) => void;
  /** How long committed entries nobody here waits for may wait to be applied (default 5 ms). */
  readonly lazyApplyMs?: number;
  /** How long a leader may wait before telling idle followers a new commit index (default 2 ms). */
  readonly commitNoticeMs?: number;
  /**
   * How long client results are kept (main/chat/sessions.ts). The same on every member of a
   * group, or their replicas differ: only tests change it.
   */
  readonly sessionLimits?: SessionLimits;
}

export interface WriteOutcome {
  readonly index: number;
  readonly result: ChatResult;
  readonly duplicate: boolean;
}

export interface AppliedBatch {
  readonly entries: readonly Entry[];
  readonly results: readonly AppliedCommand[];
}

export interface PeerEvents {
  applied: [AppliedBatch];
  leader: [SoftState];
  /** This node's removal from the membership was applied, or a leader said it is not a member: it should stop. */
  removed: [];
}

interface PendingWrite {
  readonly key: string;
  readonly data: Uint8Array;
  /** When it was last handed to the core (re-proposed if still not applied a while later). */
  proposedAt: number;
}

const retryProposalsMs = 1_000;
/**
 * Applied batches share one chat.db commit, made this long after the first of them (or at once
 * past stateCommitEntries): a commit writes every page the batches touched to the WAL, and
 * consecutive messages touch the same pages (the table's last leaf, its indexes' leaves, the
 * applied index, and each active client's leaf of its kept results). Waiting loses nothing: see
 * Storage.applyInOpenTransaction. 50 ms rather than 10: at 64 senders a page then carries about
 * five times as many messages per write to the WAL (docs/performance.md, Round 7).
 */
const stateCommitMs = 50;
const stateCommitEntries = 2_000;
/**
 * Committed entries nobody on this peer is waiting for are applied this much later, in one batch
 * (or at once past lazyApplyEntries): with one writer, every follower applied every message
 * alone, right when the leader was answering and the next write arriving. Anything that looks
 * (a read of the replica, a write of its own, a wait for an index, a membership change) applies
 * at once, so no read sees less than before; only live events may come up to 5 ms later.
 * PeerOptions.lazyApplyMs changes the wait.
 */
const defaultLazyApplyMs = 5;
const lazyApplyEntries = 1_000;
/**
 * A leader tells a follower that has every entry, and waits for none, of a new commit index once
 * it has been this long without a Ready, unless an App carried it first
 * (RaftConfig.deferCommitNotices): with one writer the next write arrives within a millisecond
 * of the answer. Under steady load the core's tick flushes them at the latest.
 */
const defaultCommitNoticeMs = 2;

export class Peer extends EventEmitter<PeerEvents> {
  readonly id: NodeId;
  private readonly node: RaftNode;
  private readonly storage: Storage;
  private readonly transport: Transport;
  private machine: ChatMachine;
  private chatQueries: ChatQueries;
  private readonly timing: PeerTiming;
  private readonly writeTimeoutMs: number;
  private readonly peers: Map<NodeId, string>;
  private readonly log: Logger;
  private readonly tls: PeerTls | undefined;
  private readonly onFatal: (err: Error) => void;
  /**
   * Certificate fingerprints learnt from applied conf-change contexts (and members.json), by
   * node: the fallback when the replicated members table (memberRows) has no row for a node.
   */
  private readonly pins: Map<NodeId, string>;
  /** The members table of the local replica: the pins the replicated state carries. */
  private memberRows: MemberRows;
  /** A pinMember command for this node is on its way. */
  private pinning = false;
  /** An adoptRules command from this leader is on its way. */
  private adopting = false;
  private readonly dataDir: string;
  /** Automatic membership (group peers); started by whoever runs the group. */
  autopilot: AutopilotRunner | null = null;
  /** When each other node last sent us anything (reachability, autopilot). */
  private readonly lastHeard = new Map<NodeId, number>();
  /** Commands waiting to be applied, by "clientId/seq". */
  private readonly writes = new Waiters<WriteOutcome>();
  private readonly pending = new Map<string, PendingWrite>();
  private batch: PendingWrite[] = [];
  /** Reads waiting for applied ≥ index. */
  private readonly appliedWaiters: { index: number; resolve: () => void }[] = [];
  private readonly readIndexes = new Waiters<number>();
  private readSeq = 0;
  private ticker: NodeJS.Timeout | null = null;
  private retrier: NodeJS.Timeout | null = null;
  private scheduled = false;
  /** The sync of the Ready being handled; the next Ready waits for it (one in flight). */
  private syncing: Promise<void> | null = null;
  private readonly sessionLimits: SessionLimits | undefined;
  /** The syncing Ready's committed entries were applied before its sync: later ones may follow. */
  private appliedAhead = false;
  /** A snapshot recorded at this index waits for the core to have applied it (0: none). */
  private compactAt = 0;
  /** The chat.db commit of the entries applied since the last one (see stateCommitMs). */
  private readonly stateCommit = new DeferredRun(stateCommitMs, stateCommitEntries, () => this.commitState());
  /** Committed, durable entries not applied yet (see defaultLazyApplyMs), and when they will be. */
  private applyQueue: Entry[] = [];
  private readonly lazyApply: DeferredRun;
  /** The deferred commit notices of a leader (see defaultCommitNoticeMs). */
  private readonly commitNotice: DeferredRun;
  private stopped = false;
  /** 'removed' was emitted (this node's removal applied, or a leader said it is not a member). */
  private removalNoticed = false;
  /** Storage failed (fatal()): the peer is stopping, and handles no Ready any more. */
  private failed = false;
  private soft: SoftState = { role: Role.Follower, leader: null, term: 0 };

  private constructor(opts: PeerOptions, storage: Storage, transport: Transport, node: RaftNode) {
    super();
    this.id = opts.id;
    this.storage = storage;
    this.transport = transport;
    this.node = node;
    this.timing = opts.timing ?? defaultTiming;
    this.writeTimeoutMs = opts.writeTimeoutMs ?? 5_000;
    this.dataDir = opts.dataDir;
    const book = readMemberBook(opts.dataDir);
    this.peers = new Map([...Object.entries(book.addresses), ...opts.peers]);
    this.pins = new Map(Object.entries(book.pins));
    this.log = opts.logger ?? silentLogger;
    this.tls = opts.tls;
    this.sessionLimits = opts.sessionLimits;
    this.onFatal = opts.onFatal ?? ((err) => setImmediate(() => { throw err; }));
    this.lazyApply = new DeferredRun(opts.lazyApplyMs ?? defaultLazyApplyMs, lazyApplyEntries, () => this.applyLater());
    this.commitNotice = new DeferredRun(opts.commitNoticeMs ?? defaultCommitNoticeMs, Infinity, () => this.receive(() => this.node.flushCommitNotices()));
    this.machine = new ChatMachine(storage.stateDb, opts.sessionLimits);
    this.chatQueries = new ChatQueries(storage.stateDb);
    this.memberRows = new MemberRows(storage.stateDb);
  }

  /** Opens the data directory, restores the core and starts serving peers. */
  static async start(opts: PeerOptions): Promise<Peer> {
    // chat.db's integrity check (it reads every page) runs in a worker once we serve: see open().
    // The log is compacted every snapshotEvery entries (10,000 by default): chat.db is synced and
    // the log up to its applied index dropped; nothing is copied (a follower that needs a snapshot
    // gets a copy made then). Each interval is stretched by up to half (snapshotSpread) so that
    // the peers, which apply the same entries at the same moment, do not all sync at once. The
    // log the core holds in memory stays under 15,000 entries.
    const storage = Storage.open(opts.dataDir, {
      stateSchema: chatSchema, snapshotEvery: opts.snapshotEvery, retainedEntries: opts.retainedEntries,
      replayEntryBytes: opts.replayEntryBytes, stateCheck: 'deferred',
      snapshotSpread: opts.snapshotEvery === undefined ? 0.5 : 0,
    });
    try {
      if (storage.identity() === null) storage.bootstrap({ nodeId: opts.id, founders: { voters: [...opts.peers.keys()], learners: [] } });
      const timing = opts.timing ?? defaultTiming;
      const logger = opts.logger ?? silentLogger;
      const node = new RaftNode({
        ...defaultConfig, id: opts.id, random: Math.random,
        electionTicks: timing.electionTicks, heartbeatTicks: timing.heartbeatTicks, deferCommitNotices: true,
      }, { ...storage.load(), compacted: storage.compactedLog() });
      let peer: Peer | null = null;
      const membership: { handlers?: MembershipHandlers } = {}; // made once the Peer exists
      const transport = new Transport({
        id: opts.id, listen: opts.listen, clientListen: opts.clientListen, snapshots: snapshotStore(storage),
        tls: opts.tls,
        authenticate: opts.tls === undefined ? undefined : (certificate, claimed) => peer?.authenticate(certificate, claimed) ?? false,
      }, {
        onMessage: (m) => peer?.heard(m.from, () => node.step(m)),
        onUnreachable: (to) => peer?.receive(() => node.reportUnreachable(to)),
        onError: (err, context) => logger.warn({ err: err.message, context }, 'peer traffic refused or failed'),
        membership: opts.membership === undefined ? undefined : {
          join: (call) => (membership.handlers as MembershipHandlers).join(call),
          leave: (call) => (membership.handlers as MembershipHandlers).leave(call),
        },
      });
      peer = new Peer(opts, storage, transport, node);
      membership.handlers = opts.membership?.(peer);
      for (const service of opts.services?.(peer) ?? []) transport.addService(service);
      await peer.open();
      return peer;
    } catch (err) {
      storage.close();
      throw err;
    }
  }

  private async open(): Promise<void> {
    await this.transport.start();
    for (const [id, address] of this.peers) if (id !== this.id) this.transport.setPeer(id, address);
    this.ticker = setInterval(() => this.receive(() => this.node.tick()), this.timing.tickMs);
    this.retrier = setInterval(() => {
      this.retryPending(Date.now() - retryProposalsMs);
      this.pinSelf();
      this.adoptLatestRules();
    }, retryProposalsMs);
    this.scheduleReady();
    this.storage.checkState().catch((err: unknown) => this.fatal(err as Error));
  }

  /**
   * chat.db failed its integrity check or refused a batch, or the disk refused to write or sync
   * the log (a full disk, EIO): stop serving at once and end the process loudly (onFatal; by
   * default an uncaught error), as a failure at open would. After a failed fsync the kernel may have
   * dropped the unsynced pages, so going on could lose acknowledged entries; a restart reads
   * back what is really on disk. Also the leader showing that this log lost entries it had
   * acknowledged (LostLogError): no restart mends that.
   */
  private fatal(err: Error): void {
    if (this.stopped || this.failed) return;
    this.failed = true; // no Ready is handled from here on, so nothing more is sent
    this.log.error({ err: err.message }, err instanceof LostLogError ? 'the log lost acknowledged entries: stopping' : 'storage failed: stopping');
    void this.stop(0)
      .catch((stopErr: unknown) => this.log.error({ err: (stopErr as Error).message }, 'stopping after the storage failure failed too'))
      .finally(() => this.onFatal(err));
  }

  get port(): number {
    return this.transport.boundPort;
  }

  /** The port of the plaintext client address (0 without one). */
  get clientPort(): number {
    return this.transport.clientPort;
  }

  /** Reads of the local replica, which first applies whatever it holds committed (see defaultLazyApplyMs). */
  get queries(): ChatQueries {
    this.applyQueued();
    return this.chatQueries;
  }

  /** The rules this replica applies the log by (main/chat/sessions.ts). */
  get rulesVersion(): number {
    return this.machine.rulesVersion;
  }

  get appliedIndex(): number {
    return this.machine.applied().index;
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * Proposes a prepared command and resolves once it is applied on this replica (exactly once,
   * thanks to its client id and sequence number). Fails with NoQuorumError after the timeout;
   * the same command may then be retried and is still applied at most once.
   */
  write(command: Command): Promise<WriteOutcome> {
    if (this.stopped) return Promise.reject(new PeerStoppedError());
    const key = `${command.c}/${command.s}`;
    const promise = this.writes.wait(key, this.writeTimeoutMs, () => {
      this.pending.delete(key);
      return this.noQuorum();
    });
    if (!this.pending.has(key)) {
      const p: PendingWrite = { key, data: encodeCommand(command), proposedAt: 0 };
      this.pending.set(key, p);
      this.batch.push(p);
      this.scheduleReady();
    }
    return promise;
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** Resolves once this replica has applied `index` (read-your-writes, monotonic reads). */
  waitApplied(index: number, timeoutMs = this.writeTimeoutMs): Promise<void> {
    this.applyQueued(); // someone waits: nothing lazy any more
    if (this.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { index, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        const at = this.appliedWaiters.indexOf(waiter);
        if (at >= 0) this.appliedWaiters.splice(at, 1);
        reject(new TimeoutError(`this peer has not caught up to index ${index} yet (applied ${this.appliedIndex})`));
      }, timeoutMs);
      this.appliedWaiters.push(waiter);
    });
  }

  /** Linearizable read barrier (ReadIndex): resolves when local reads reflect every commit so far. */
  async linearizable(timeoutMs = this.writeTimeoutMs): Promise<void> {
    const context = `${this.id}:${++this.readSeq}`;
    const index = this.readIndexes.wait(context, timeoutMs, () => this.noQuorum());
    this.receive(() => {
      try {
        this.node.readIndex(context);
      } catch (err) {
        if (!(err instanceof ProposalDropped)) throw err; // no leader yet: the wait times out
      }
    });
    await this.waitApplied(await index, timeoutMs);
  }

  // ---- administration ------------------------------------------------------------------------

  status(): RaftStatus {
    return this.node.status();
  }

  role(): Role {
    return this.soft.role;
  }

  leaderId(): NodeId | null {
    return this.soft.leader;
  }

  members(): { id: NodeId; address: string | null; voter: boolean; reachable: boolean }[] {
    const conf = this.node.status().conf;
    return [...conf.voters.map((id) => [id, true] as const), ...conf.learners.map((id) => [id, false] as const)].map(([id, voter]) => ({
      id, voter, address: this.peers.get(id) ?? null,
      reachable: this.isReachable(id),
    }));
  }

  /**
   * A member counts as reachable while our connection to it is up or it spoke to us recently.
   * (Followers rarely send to each other; the connection alone would undercount on them.)
   */
  private isReachable(id: NodeId): boolean {
    if (id === this.id || this.transport.isConnected(id)) return true;
    const heard = this.lastHeard.get(id);
    return heard !== undefined && Date.now() - heard < this.reachableWithinMs();
  }

  private reachableWithinMs(): number {
    return 2 * this.timing.electionTicks * this.timing.tickMs;
  }

  /**
   * Whether the TLS client that showed `certificate` is `claimed`: its group certificate must name that node
   * and, once the membership pins a fingerprint for it, be that very certificate (a member's
   * stolen name with a freshly issued certificate is refused).
   */
  authenticate(certificate: PeerCertificate | undefined, claimed: NodeId): boolean {
    const who = certificateIdentity(certificate);
    if (who === null || who.nodeId !== claimed) return false;
    const pinned = this.pinnedFingerprint(claimed);
    return pinned === undefined || pinned === who.fingerprint;
  }

  /**
   * The certificate fingerprint the membership pins for `id`: the replicated members table's
   * (which snapshots carry, and which holds the founder's own pin), else one learnt from an
   * applied conf-change context.
   */
  pinnedFingerprint(id: NodeId): string | undefined {
    return memberContextOf(this.memberRows.context(id))?.fingerprint ?? this.pins.get(id);
  }

  /**
   * A member of a TLS group that has no row in the members table (the founder: the bootstrap
   * entry has no context) proposes one for itself, pinning its own certificate. The state
   * machine only fills a missing row, so this never replaces a pin. Retried until it lands.
   */
  private pinSelf(): void {
    if (this.tls === undefined || this.stopped || this.pinning || this.soft.leader === null) return;
    if (!this.isMember(this.id) || this.memberRows.context(this.id) !== undefined) return;
    const address = this.peers.get(this.id);
    const context = encodeMemberContext({ addresses: address === undefined ? [] : [address], fingerprint: this.tls.fingerprint });
    const now = Date.now();
    this.pinning = true;
    // A one-shot client per attempt: a new session begins at sequence 1 (main/chat/sessions.ts).
    this.write({ c: `pin:${now}:${this.id}`.slice(0, 64), s: 1, at: now, t: 'pinMember', node: this.id, context })
      .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'pinning this node\'s certificate failed; retrying'))
      .finally(() => { this.pinning = false; });
  }

  /**
   * A leader whose group still applies older rules than this code's proposes the newest
   * (adoptRules, main/chat/sessions.ts), so that the change starts at one log index on every
   * replica. Safe from a leader: its votes came over this version's Raft link (frames.ts), so a
   * majority runs code that knows these rules, and a member of an older version can neither
   * receive the entry nor vote until it is upgraded, when it applies the entry like the others.
   */
  private adoptLatestRules(): void {
    if (this.stopped || this.adopting || this.soft.role !== Role.Leader || this.machine.rulesVersion >= latestRules) return;
    const now = Date.now();
    this.adopting = true;
    this.write({ c: `rules:${now}:${this.id}`.slice(0, 64), s: 1, at: now, t: 'adoptRules', version: latestRules })
      .then(({ result }) => this.log.info({ result }, 'the group applies its log by the newest rules from here on'))
      .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'adopting the newest rules failed; retrying'))
      .finally(() => { this.adopting = false; });
  }

  /**
   * A message arrived from `from`: note when, then step it into the core. A log that lost
   * entries it had acknowledged stops the peer as a failed disk does (LostLogError); a leader
   * saying this node is no longer a member ends it as its own removal would (RemovedError).
   */
  private heard(from: NodeId, fn: () => void): void {
    this.lastHeard.set(from, Date.now());
    try {
      this.receive(fn);
    } catch (err) {
      if (err instanceof LostLogError) this.fatal(err);
      else if (err instanceof RemovedError) this.noticeRemoval(err.message);
      else throw err;
    }
  }

  /** Says once that this node is out of the group (listeners stop the process). */
  private noticeRemoval(why: string): void {
    if (this.removalNoticed) return;
    this.removalNoticed = true;
    this.log.warn(why);
    setImmediate(() => this.emit('removed')); // after the current Ready is fully handled
  }

  // ---- membership and addresses ---------------------------------------------------------------

  isMember(id: NodeId): boolean {
    const conf = this.node.status().conf;
    return conf.voters.includes(id) || conf.learners.includes(id);
  }

  /** Where `id` listens, as far as this peer knows (null if unknown). */
  addressOf(id: NodeId): string | null {
    return this.peers.get(id) ?? null;
  }

  /** Every node with a known address, this one included. */
  addressBook(): { id: NodeId; address: string }[] {
    return [...this.peers].map(([id, address]) => ({ id, address }));
  }

  /**
   * Records where `id` listens (from a conf-change context, discovery or the cache); the most
   * recent report wins, so a node that moved (new DHCP lease) is reached at its new address.
   */
  setAddress(id: NodeId, address: string): void {
    if (this.stopped || this.peers.get(id) === address) return;
    this.peers.set(id, address);
    if (id !== this.id) this.transport.setPeer(id, address);
  }

  /**
   * Proposes one membership change (on the leader) and resolves once it is applied here.
   * Throws ProposalDropped off the leader, and an error while another change is pending.
   */
  async changeMembership(cc: ConfChange, timeoutMs = this.writeTimeoutMs): Promise<void> {
    let index = 0;
    this.receive(() => {
      this.node.proposeConfChange(cc);
      index = this.node.status().lastIndex;
    });
    await this.waitApplied(index, timeoutMs);
    if (!this.confReflects(cc)) throw new TimeoutError(`the change "${cc.type} ${cc.node}" was not committed (leadership changed); retry`);
  }

  private confReflects(cc: ConfChange): boolean {
    const conf = this.node.status().conf;
    if (cc.type === 'remove') return !this.isMember(cc.node);
    if (cc.type === 'addLearner') return this.isMember(cc.node);
    return conf.voters.includes(cc.node);
  }

  /**
   * Calls Join or Leave on the member `targetId` at `address` (null: a member whose id is not
   * known yet, e.g. an address typed by a user: any group certificate will do). See join.ts.
   */
  askMember<M extends keyof MembershipCalls>(method: M, address: string, request: MembershipCalls[M][0], targetId: NodeId | null): Promise<MembershipCalls[M][1]> {
    const tls = this.tls;
    if (tls === undefined) return Promise.reject(new Error('a static group has a fixed membership'));
    const credentials = targetId === null ? tls.anyMember : tls.channel;
    // A name, even for an unknown node, keeps TLS from sending an IP address as the server name.
    return this.transport.callMember(method, address, request, credentials, tls.channelOptions(targetId ?? 'member'));
  }

  /** Whether members may join and leave (a group peer, over TLS), not a static group. */
  get hasDynamicMembership(): boolean {
    return this.tls !== undefined;
  }

  /**
   * Leaves the group: the leader removes this node (this peer itself, when it leads). Resolves
   * once the removal is committed; the peer then no longer counts as a member anywhere.
   */
  async leave(): Promise<void> {
    if (this.soft.role === Role.Leader) return this.changeMembership({ type: 'remove', node: this.id });
    const leader = this.soft.leader;
    const address = leader === null ? null : this.addressOf(leader);
    if (leader === null || address === null) throw new NoQuorumError(0, this.node.status().conf.voters.length);
    await this.askMember('Leave', address, { nodeId: this.id }, leader);
  }

  /** When the last message from `id` arrived (ms since the epoch; undefined: never). */
  lastHeardFrom(id: NodeId): number | undefined {
    return this.lastHeard.get(id);
  }

  transferLeadership(to: NodeId): void {
    this.receive(() => this.node.transferLeadership(to));
  }

  /** Stops serving. A leader first hands leadership to the most caught-up voter (bounded wait). */
  async stop(handoverMs = 2_000): Promise<void> {
    if (this.stopped) return;
    if (this.soft.role === Role.Leader) await this.handOver(handoverMs);
    this.stopped = true;
    this.autopilot?.stop();
    if (this.ticker !== null) clearInterval(this.ticker);
    if (this.retrier !== null) clearInterval(this.retrier);
    this.commitNotice.cancel();
    this.writes.failAll(() => new PeerStoppedError());
    this.readIndexes.failAll(() => new PeerStoppedError());
    await this.syncing; // never rejects (a failed sync is fatal, handled in handle())
    this.applyBeforeStop();
    this.stateCommit.cancel(); // storage.close() commits
    await this.transport.close();
    this.storage.close();
  }

  private async handOver(timeoutMs: number): Promise<void> {
    const best = this.node.status().progress
      .filter((p) => p.voter && p.id !== this.id)
      .sort((a, b) => b.match - a.match)[0];
    if (best === undefined) return;
    this.transferLeadership(best.id);
    const deadline = Date.now() + timeoutMs;
    while (this.soft.role === Role.Leader && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, this.timing.tickMs));
    }
  }

  // ---- the Ready loop ------------------------------------------------------------------------

  /** Runs `fn` against the core, then processes whatever it produced (coalesced per turn). */
  private receive(fn: () => void): void {
    if (this.stopped) return;
    fn();
    this.scheduleReady();
  }

  private scheduleReady(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.processReady());
  }

  private processReady(): void {
    this.scheduled = false;
    if (this.stopped || this.failed) return;
    if (this.syncing !== null) {
      this.applyWhileSyncing();
      return;
    }
    this.proposeBatch();
    try {
      while (this.syncing === null && this.node.hasReady()) this.handle(this.node.ready());
    } catch (err) {
      this.fatal(err as Error); // a write the disk refused: nothing that depends on it has left
      return;
    }
    if (this.node.commitNoticePending()) this.commitNotice.postpone(1);
  }

  /** All proposals of this turn go to the core as one batch: one append, one fsync. */
  private proposeBatch(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    try {
      this.node.proposeBatch(batch.map((p) => p.data));
      const now = Date.now();
      for (const p of batch) p.proposedAt = now;
    } catch (err) {
      if (!(err instanceof ProposalDropped)) throw err;
      // No leader (or a transfer in progress): they stay pending and are retried.
    }
  }

  /**
   * persist → send → apply → advance. The log write is synced on the thread pool while the event
   * loop goes on receiving; whatever arrives meanwhile goes into the next Ready, so one fsync
   * covers it all (group commit). A leader's appends leave before its own sync (early-send.ts).
   */
  private handle(rd: Ready): void {
    if (rd.snapshot !== null) this.installSnapshot(rd);
    // Before the write, even: nothing that leaves early depends on it (early-send.ts), and a
    // failed write throws out of handle() before anything else is sent; processReady() then
    // stops the peer (fatal), as a crash would.
    const order = splitBeforeSync(rd, this.soft.role);
    this.transport.send(order.now);
    const durable = this.storage.write(rd.hardState, rd.entries);
    if (durable === null) {
      this.finish(rd, order.afterSync);
      return;
    }
    const applyNow = appliesBeforeSync(rd);
    if (applyNow) this.apply(rd.committed);
    this.appliedAhead = applyNow;
    this.syncing = durable.then(() => {
      this.syncing = null;
      if (this.stopped) return;
      this.finish(rd, order.afterSync, !applyNow);
      this.scheduleReady();
    }, (err: unknown) => {
      this.syncing = null;
      this.fatal(err as Error);
    });
  }

  /**
   * A commit index learnt while a Ready's write is syncing (a follower's commit notice, a
   * leader's acknowledgements) covers entries that earlier Readies made durable: they are
   * applied now, and their clients answered, rather than after the sync. At 64 senders a sync is
   * nearly always in flight, and a forwarded write waited for it once more on its way back.
   */
  private applyWhileSyncing(): void {
    if (!this.appliedAhead) return; // the syncing Ready's own committed entries come first
    const entries = this.node.durableCommitted();
    if (entries.length === 0) return;
    try {
      this.apply(entries);
    } catch {
      return; // fatal() has it (see applyQueued)
    }
    this.maybeCompact();
    this.releaseAppliedWaiters();
  }

  /** The rest of a Ready once its write is durable. */
  private finish(rd: Ready, messages: readonly Message[], apply = true): void {
    this.transport.send(messages);
    if (apply) this.apply(rd.committed);
    for (const rs of rd.readStates) this.readIndexes.resolve(rs.context, rs.index);
    this.node.advance(rd);
    if (rd.softState !== null) this.leaderChanged(rd.softState);
    if (rd.committed.length > 0) this.maybeCompact(); // only applying can make a snapshot due
    this.compactIfApplied();
    // Here, not at apply(): a waiter may read what advance() settles (a conf change's membership).
    this.releaseAppliedWaiters();
  }

  /**
   * A due compaction syncs chat.db off the event loop (Storage.compactInBackground). Once it is
   * recorded the core drops the log it covers; this runs between Readies, as any event does.
   * chat.db may hold entries applied ahead of their Ready's advance() (appliesBeforeSync): the
   * core is then told once that advance() has happened.
   */
  private maybeCompact(): void {
    const compacting = this.storage.compactInBackground(this.appliedIndex); // the machine holds it: no read per Ready
    if (compacting === null) return;
    // A failure is fatal, as a failed Ready sync is: the sync of chat.db or of raft.db's record
    // failed, and after a failed fsync the kernel may have dropped the pages it did not write.
    compacting.then((meta) => {
      if (meta !== null && !this.stopped) this.compactAt = Math.max(this.compactAt, meta.index);
      this.compactIfApplied();
    }, (err: unknown) => this.fatal(err as Error));
  }

  private compactIfApplied(): void {
    if (this.compactAt === 0 || this.stopped || this.node.status().applied < this.compactAt) return;
    this.node.compact(this.compactAt, new Uint8Array(0));
    this.compactAt = 0;
  }

  private installSnapshot(rd: Ready): void {
    this.dropApplyQueue(); // all below the snapshot (it lies past our commit index), which replaces them
    const snapshot = rd.snapshot as NonNullable<Ready['snapshot']>;
    this.storage.installSnapshot(snapshot);
    this.machine = new ChatMachine(this.storage.stateDb, this.sessionLimits);
    this.chatQueries = new ChatQueries(this.storage.stateDb);
    this.memberRows = new MemberRows(this.storage.stateDb);
    const { index, term } = snapshot.meta;
    this.log.info({ index, term }, 'installed a snapshot from the leader');
  }

  /** Applies committed, durable entries: at once if anyone here waits for them, else a little later. */
  private apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) this.applyQueue.push(e);
    const awaited = this.pending.size > 0 || this.appliedWaiters.length > 0 || entries.some((e) => e.type === EntryType.ConfChange);
    // In the Ready loop (finish() releases the waiters after advance()), else by the timer.
    if (awaited) this.applyQueued();
    else this.lazyApply.note(entries.length);
  }

  /** The lazy-apply timer: outside the Ready loop, so whoever waits is released here. */
  private applyLater(): void {
    try {
      this.applyQueued();
      this.releaseAppliedWaiters();
    } catch {
      // fatal() has it (see applyQueued)
    }
  }

  private dropApplyQueue(): void {
    this.lazyApply.cancel();
    this.applyQueue = [];
  }

  /** A graceful stop leaves chat.db applied as far as the log is committed here. */
  private applyBeforeStop(): void {
    try {
      this.applyQueued();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'applying before the stop failed; the entries are applied at the next start');
    }
  }

  /**
   * Applies the held-back entries now. A batch chat.db refuses stops the peer (nothing after it
   * may be applied; a restart applies it again from the log), and the error goes on to the caller.
   */
  private applyQueued(): void {
    const entries = this.applyQueue;
    this.dropApplyQueue();
    // After a storage failure nothing more is applied: the restart applies from what is on disk.
    if (entries.length === 0 || this.failed) return;
    try {
      this.applyNow(entries);
    } catch (err) {
      this.fatal(err as Error);
      throw err;
    }
  }

  private applyNow(entries: readonly Entry[]): void {
    this.notePins(entries);
    const results = this.storage.applyInOpenTransaction(() => this.machine.applyBatch(entries));
    this.stateCommit.note(entries.length);
    for (const r of results) {
      if (r.clientId === null) continue;
      const key = `${r.clientId}/${r.seq}`;
      if (this.pending.delete(key)) this.writes.resolve(key, { index: r.index, result: r.result, duplicate: r.duplicate });
    }
    this.emit('applied', { entries, results });
  }

  private commitState(): void {
    try {
      this.storage.commitState();
    } catch (err) {
      this.fatal(err as Error);
    }
  }

  private leaderChanged(soft: SoftState): void {
    const leaderMoved = soft.leader !== this.soft.leader || soft.term !== this.soft.term;
    if (leaderMoved) this.log.info({ role: soft.role, leader: soft.leader, term: soft.term }, 'leadership changed');
    this.soft = soft;
    this.emit('leader', soft);
    if (leaderMoved && soft.leader !== null) {
      this.retryPending(Infinity);
      this.pinSelf();
      this.adoptLatestRules();
    }
  }

  /**
   * Re-proposes writes not yet applied that were last proposed before `olderThan` (a lost
   * forward, or a leader that changed before committing). Their request ids make duplicates
   * in the log harmless: the state machine applies each command once.
   */
  private retryPending(olderThan: number): void {
    if (this.stopped || this.soft.leader === null) return;
    const queued = new Set(this.batch);
    for (const p of this.pending.values()) if (!queued.has(p) && p.proposedAt < olderThan) this.batch.push(p);
    this.scheduleReady();
  }

  private releaseAppliedWaiters(): void {
    if (this.appliedWaiters.length === 0) return;
    const applied = this.appliedIndex;
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      const w = this.appliedWaiters[i] as { index: number; resolve: () => void };
      if (w.index <= applied) {
        this.appliedWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private noQuorum(): Error {
    const members = this.members();
    const voters = members.filter((m) => m.voter);
    const reachable = voters.filter((m) => m.reachable).length;
    if (this.soft.leader !== null && reachable * 2 > voters.length) {
      return new TimeoutError('the group did not commit the request in time; retry with the same request id');
    }
    return new NoQuorumError(reachable, voters.length);
  }

  /**
   * Learns from the conf changes being applied each member's pinned certificate fingerprint
   * and addresses (carried in the change's context), and forgets removed members.
   */
  private notePins(entries: readonly Entry[]): void {
    let changed = false;
    for (const e of entries) {
      if (e.type !== EntryType.ConfChange) continue;
      changed = true;
      const cc = decodeConfChange(e.data);
      if (cc.type === 'bootstrap') continue;
      if (cc.type === 'remove') this.forget(cc.node);
      const context = memberContextOf(cc.context);
      if (context?.fingerprint !== undefined) this.pins.set(cc.node, context.fingerprint);
      const address = context?.addresses[0];
      if (address !== undefined && cc.type !== 'remove') this.setAddress(cc.node, address);
    }
    if (changed && this.tls !== undefined) this.saveMemberBook();
  }

  /** A cache of replicated facts: failing to write it is worth a warning, not a crash. */
  private saveMemberBook(): void {
    try {
      writeMemberBook(this.dataDir, { pins: Object.fromEntries(this.pins), addresses: Object.fromEntries(this.peers) });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not save members.json');
    }
  }

  private forget(id: NodeId): void {
    this.pins.delete(id);
    if (id === this.id) {
      this.noticeRemoval('this peer was removed from the group');
      return;
    }
    this.peers.delete(id);
    this.transport.removePeer(id);
  }
}

function snapshotStore(storage: Storage): SnapshotStore {
  return {
    read: (meta: SnapshotMeta) => storage.snapshotToSend(meta),
    receive: (meta: SnapshotMeta) => storage.receiveSnapshot(meta),
  };
}
