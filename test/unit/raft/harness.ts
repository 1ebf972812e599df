// A tiny synchronous network for rule-level tests: nodes exchange messages instantly unless a
// link is cut, and every Ready is processed (persist, send, apply) at once.
import { RaftNode } from '../../../main/raft/node.js';
import {
  defaultConfig, type ConfState, type Entry, type InitialState, type Message, type NodeId, type PlantedBugs,
  type RaftConfig, type Ready,
} from '../../../main/raft/types.js';

/** Deterministic [0,1) sequence so election timeouts are reproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
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

export function config(id: NodeId, seed: number, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return { ...defaultConfig, id, random: seededRandom(seed), ...overrides };
}

export interface TestNode {
  node: RaftNode;
  applied: Entry[];
  /** What the driver persisted: the durable log (by index). */
  persisted: Map<number, Entry>;
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cut = new Set<string>();
  /** Every message delivered, for assertions on what was sent. */
  readonly delivered: Message[] = [];
  /** Messages are only recorded, not delivered, when `hold` is on (to inspect one step). */
  hold = false;
  readonly held: Message[] = [];

  constructor(ids: NodeId[], opts: { voters?: NodeId[]; learners?: NodeId[]; bugs?: PlantedBugs; config?: Partial<RaftConfig> } = {}) {
    const conf = { voters: opts.voters ?? ids, learners: opts.learners ?? [] };
    ids.forEach((id, i) => this.add(id, emptyState(conf), { ...opts.config, bugs: opts.bugs ?? {} }, i + 1));
  }

  add(id: NodeId, init: InitialState, overrides: Partial<RaftConfig> = {}, seed = 99): TestNode {
    const t: TestNode = { node: new RaftNode(config(id, seed, overrides), init), applied: [], persisted: new Map() };
    this.nodes.set(id, t);
    return t;
  }

  get(id: NodeId): RaftNode {
    const t = this.nodes.get(id);
    if (t === undefined) throw new Error(`no node ${id}`);
    return t.node;
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
    for (let i = 0; i < times; i++) this.get(id).tick();
    this.settle();
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

  deliver(m: Message): void {
    this.delivered.push(m);
    if (this.cut.has(`${m.from}>${m.to}`)) return;
    this.nodes.get(m.to)?.node.step(m);
  }

  private process(_id: NodeId, t: TestNode, rd: Ready): void {
    if (rd.snapshot !== null) t.persisted.clear();
    for (const e of rd.entries) {
      for (const k of [...t.persisted.keys()]) if (k >= e.index) t.persisted.delete(k);
      break;
    }
    for (const e of rd.entries) t.persisted.set(e.index, e);
    for (const m of rd.messages) {
      if (this.hold) this.held.push(m);
      else this.deliver(m);
    }
    for (const e of rd.committed) t.applied.push(e);
    t.node.advance(rd);
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
