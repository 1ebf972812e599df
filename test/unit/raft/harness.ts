// A tiny synchronous network for rule-level tests: nodes exchange messages instantly unless a
// link is cut, and every Ready is processed (persist, send, apply) at once.
import { RaftNode } from '../../../main/raft/node.js';
import {
  EntryType, MessageType, defaultConfig,
  type CompactedLog, type ConfState, type Entry, type HardState, type InitialState, type Message, type NodeId, type PlantedBugs,
  type RaftConfig, type ReadState, type Ready, type Snapshot,
} from '../../../main/raft/types.js';

/** Deterministic [0,1) sequence so election timeouts are reproducible. */
export function seededRandom(seed: number): () => number {
  // Scramble the seed: xorshift's first outputs from small seeds are tiny and alike, which would
  // give every node the same first election timeout.
  let s = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

export function emptyState(conf: ConfState): InitialState {
  return { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, conf, entries: [], applied: 0 };
}

/** An initial state with a prepared log (for paper-style tests that start from given logs). */
export function stateWith(conf: ConfState, s: { term?: number; vote?: NodeId | null; commit?: number; entries?: Entry[]; applied?: number } = {}): InitialState {
  return {
    hardState: { term: s.term ?? 0, vote: s.vote ?? null, commit: s.commit ?? 0 },
    snapshot: null, conf, entries: s.entries ?? [], applied: s.applied ?? 0,
  };
}

/** A normal entry. */
export function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: EntryType.Normal, data: text(data) };
}

/** Entries with the given terms, at indexes 1, 2, 3, ... */
export function logOfTerms(...terms: number[]): Entry[] {
  return terms.map((term, i) => ent(i + 1, term));
}

export function config(id: NodeId, seed: number, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return { ...defaultConfig, id, random: seededRandom(seed), ...overrides };
}

export interface TestNode {
  node: RaftNode;
  /** Entries applied by the driver, in order (snapshots are recorded in `snapshots`). */
  applied: Entry[];
  /** What the driver persisted: the durable log (by index). */
  persisted: Map<number, Entry>;
  /** What the driver persisted: the hard state. */
  hard: HardState;
  /** Snapshots installed by the driver, in order. */
  snapshots: Snapshot[];
  /** Read states handed out, in order. */
  readStates: ReadState[];
  /** The config the node was built with (for restarts). */
  overrides: Partial<RaftConfig>;
  seed: number;
  /**
   * Persisted entries from this index on stay readable below the snapshot (the core's
   * CompactedLog, as raft.db's retained rows); Infinity (the default): none do.
   */
  heldFrom: number;
}

/** A node's CompactedLog: what its driver persisted, from `heldFrom` on (read when the core asks). */
function compactedLog(node: () => TestNode): CompactedLog {
  const held = (index: number) => (index >= node().heldFrom ? node().persisted.get(index) : undefined);
  return {
    term: (index) => held(index)?.term,
    entries: (lo, hi, maxBytes) => {
      const out: Entry[] = [];
      let bytes = 0;
      for (let e = held(lo), i = lo; e !== undefined && i <= hi; e = held(++i)) {
        bytes += e.data.length;
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
      return out;
    },
  };
}

export interface NetworkOptions {
  voters?: NodeId[];
  learners?: NodeId[];
  bugs?: PlantedBugs;
  config?: Partial<RaftConfig>;
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cut = new Set<string>();
  /** Every message sent (delivered or dropped), for assertions on what was sent. */
  readonly delivered: Message[] = [];
  /** Messages are only recorded, not delivered, when `hold` is on (to inspect one step). */
  hold = false;
  readonly held: Message[] = [];
  /** Return true to drop a message (in addition to cut links). */
  drop: ((m: Message) => boolean) | null = null;
  /** Alter a message in flight (null: drop it). Applied after `drop`. */
  rewrite: ((m: Message) => Message | null) | null = null;
  /** Return true to swallow an error a node's step() threw on a delivered message. */
  tolerate: ((err: unknown) => boolean) | null = null;
  /** Observers, used by the data-driven harness to print what happens. */
  onReady: ((id: NodeId, rd: Ready) => void) | null = null;
  onSend: ((m: Message, dropped: boolean) => void) | null = null;

  constructor(ids: NodeId[], opts: NetworkOptions = {}) {
    const conf = { voters: opts.voters ?? ids.filter((id) => !(opts.learners ?? []).includes(id)), learners: opts.learners ?? [] };
    ids.forEach((id, i) => this.add(id, emptyState(conf), { ...opts.config, bugs: opts.bugs ?? {} }, i + 1));
  }

  add(id: NodeId, init: InitialState, overrides: Partial<RaftConfig> = {}, seed = 99): TestNode {
    const persisted = new Map<number, Entry>();
    for (const e of init.entries) persisted.set(e.index, e);
    const t: TestNode = {
      node: new RaftNode(config(id, seed, overrides), { ...init, compacted: compactedLog(() => t) }), applied: [], persisted, hard: init.hardState,
      snapshots: init.snapshot === null ? [] : [init.snapshot], readStates: [], overrides, seed, heldFrom: Infinity,
    };
    this.nodes.set(id, t);
    return t;
  }

  /** Crash and restart `id` from what its driver persisted (hard state, snapshot, log, applied). */
  restart(id: NodeId, conf: ConfState, overrides?: Partial<RaftConfig>): TestNode {
    const t = this.testNode(id);
    const snapshot = t.snapshots[t.snapshots.length - 1] ?? null;
    const entries = [...t.persisted.values()].sort((a, b) => a.index - b.index);
    const lastApplied = t.applied[t.applied.length - 1]?.index ?? 0;
    const init: InitialState = {
      hardState: t.hard, snapshot, conf, entries,
      applied: Math.max(lastApplied, snapshot?.meta.index ?? 0),
    };
    const fresh = this.add(id, init, overrides ?? t.overrides, t.seed + 1000);
    fresh.applied = t.applied;
    fresh.snapshots = t.snapshots;
    return fresh;
  }

  get(id: NodeId): RaftNode {
    return this.testNode(id).node;
  }

  testNode(id: NodeId): TestNode {
    const t = this.nodes.get(id);
    if (t === undefined) throw new Error(`no node ${id}`);
    return t;
  }

  /** The node that leads in the highest term, if any. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestTerm = -1;
    for (const [id, t] of this.nodes) {
      const s = t.node.status();
      if (s.role === 'leader' && s.term > bestTerm) [best, bestTerm] = [id, s.term];
    }
    return best;
  }

  /** The node's log from firstIndex to lastIndex, as `index@term` strings. */
  logOf(id: NodeId): string[] {
    const n = this.get(id);
    const s = n.status();
    const out: string[] = [];
    for (let i = s.firstIndex; i <= s.lastIndex; i++) out.push(`${i}@${n.termAt(i) ?? '?'}`);
    return out;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** One-way loss: messages from `a` to `b` are dropped. */
  cutOneWay(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Processes every Ready and delivers messages until the network is quiet. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const [id, t] of this.nodes) {
        if (!t.node.hasReady()) continue;
        busy = true;
        this.process(id, t, t.node.ready());
      }
      if (!busy) return;
    }
    throw new Error('network did not settle');
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.get(id).tick();
      this.settle();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const t of this.nodes.values()) t.node.tick();
      this.settle();
    }
  }

  /** Makes `id` campaign and settles; returns its role. */
  elect(id: NodeId): string {
    this.get(id).campaign();
    this.settle();
    return this.get(id).status().role;
  }

  deliver(sent: Message): void {
    let m: Message | null = sent;
    if (this.cut.has(`${m.from}>${m.to}`) || (this.drop?.(m) ?? false) || !this.nodes.has(m.to)) m = null;
    if (m !== null && this.rewrite !== null) m = this.rewrite(m);
    this.delivered.push(m ?? sent);
    this.onSend?.(m ?? sent, m === null);
    if (m === null) return;
    try {
      this.nodes.get(m.to)?.node.step(m);
    } catch (err) {
      if (!(this.tolerate?.(err) ?? false)) throw err;
    }
  }

  /**
   * With `hold` on: `id` campaigns and wins (votes are delivered) while everything else it sends,
   * such as its no-op, stays held.
   */
  winElectionHoldingAppends(id: NodeId): void {
    this.get(id).campaign();
    this.settle();
    this.deliverHeld((m) => m.type === MessageType.Vote);
    this.settle();
    this.deliverHeld((m) => m.type === MessageType.VoteResp);
    this.settle();
  }

  /** Delivers (and removes) the held messages that match `pred`; returns how many. */
  deliverHeld(pred: (m: Message) => boolean = () => true): number {
    const picked = this.held.filter(pred);
    const rest = this.held.filter((m) => !pred(m));
    this.held.length = 0;
    this.held.push(...rest);
    for (const m of picked) this.deliver(m);
    return picked.length;
  }

  private process(id: NodeId, t: TestNode, rd: Ready): void {
    this.onReady?.(id, rd);
    // 1. persist: snapshot, entries (replacing any suffix), hard state
    if (rd.snapshot !== null) {
      t.persisted.clear();
      t.snapshots.push(rd.snapshot);
    }
    const first = rd.entries[0];
    if (first !== undefined) for (const k of [...t.persisted.keys()]) if (k >= first.index) t.persisted.delete(k);
    for (const e of rd.entries) t.persisted.set(e.index, e);
    if (rd.hardState !== null) t.hard = rd.hardState;
    // 2. send
    for (const m of rd.messages) {
      if (this.hold) this.held.push(m);
      else this.deliver(m);
    }
    // 3. apply, 4. reads
    for (const e of rd.committed) t.applied.push(e);
    t.readStates.push(...rd.readStates);
    t.node.advance(rd);
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Ids "1".."n". */
export const ids = (n: number): NodeId[] => Array.from({ length: n }, (_, i) => String(i + 1));

/**
 * A single node driven by hand (etcd's newTestRaft style): feed it messages, then `drain()` runs
 * one Ready/advance cycle and returns what it would send.
 */
export class Solo {
  readonly node: RaftNode;
  hard: HardState;
  readonly persisted = new Map<number, Entry>();
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly readies: Ready[] = [];

  constructor(id: NodeId, init: InitialState, overrides: Partial<RaftConfig> = {}, seed = 1) {
    this.node = new RaftNode(config(id, seed, overrides), init);
    this.hard = init.hardState;
    for (const e of init.entries) this.persisted.set(e.index, e);
  }

  /** One Ready/advance cycle (if there is a Ready); returns its messages. */
  drain(): Message[] {
    if (!this.node.hasReady()) return [];
    const rd = this.node.ready();
    this.readies.push(rd);
    const first = rd.entries[0];
    if (first !== undefined) for (const k of [...this.persisted.keys()]) if (k >= first.index) this.persisted.delete(k);
    for (const e of rd.entries) this.persisted.set(e.index, e);
    if (rd.hardState !== null) this.hard = rd.hardState;
    this.applied.push(...rd.committed);
    this.readStates.push(...rd.readStates);
    this.node.advance(rd);
    return [...rd.messages];
  }

  step(m: Partial<Message> & Pick<Message, 'type' | 'from'>): Message[] {
    this.node.step(msg({ to: this.node.id, ...m }));
    return this.drain();
  }

  tick(times = 1): Message[] {
    const out: Message[] = [];
    for (let i = 0; i < times; i++) {
      this.node.tick();
      out.push(...this.drain());
    }
    return out;
  }

  status() {
    return this.node.status();
  }

  /** The log as `index@term` strings. */
  log(): string[] {
    const s = this.node.status();
    const out: string[] = [];
    for (let i = s.firstIndex; i <= s.lastIndex; i++) out.push(`${i}@${this.node.termAt(i) ?? '?'}`);
    return out;
  }
}

/** A message with defaults for every field not given. */
export function msg(m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    term: 0, logTerm: 0, index: 0, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null,
    ...m,
  };
}
