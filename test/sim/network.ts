// The simulated network: every message gets a delivery step from the current "weather" (loss,
// duplication, delay, delay spikes that reorder it behind later messages), and links can be cut
// one way or both (partitions). Cuts apply at delivery, so messages in flight when a partition
// starts are lost too.
import type { Message } from '../../main/raft/types.js';
import { MAX_NODES, nodeIndex } from './ids.js';
import type { Random } from './random.js';
import type { Stats } from './stats.js';
import type { Trace } from './trace.js';

export interface Weather {
  readonly name: string;
  /** Probability that a message is lost. */
  readonly drop: number;
  /** Probability that a message is delivered twice (each copy with its own delay). */
  readonly dup: number;
  /** Delay range in steps (≥ 1: a message is never delivered in the step that sent it). */
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Probability of an extra delay of up to `spikeMax` steps: reorders past later messages. */
  readonly spike: number;
  readonly spikeMax: number;
}

export const calmWeather: Weather = { name: 'calm', drop: 0, dup: 0, minDelay: 1, maxDelay: 2, spike: 0, spikeMax: 0 };

/** Size of the ring of per-step buckets; every delay must stay below it. */
export const HORIZON = 256;

export class Network {
  /** ring[s % HORIZON]: messages due at step s, in the order they will be delivered. */
  private readonly ring: Message[][] = Array.from({ length: HORIZON }, () => []);
  /** cut[from * MAX_NODES + to] = 1: messages from → to are lost. */
  private readonly cut = new Uint8Array(MAX_NODES * MAX_NODES);
  private queued = 0;
  weather: Weather = calmWeather;

  constructor(private readonly rng: Random, private readonly stats: Stats, private readonly trace: Trace) {}

  send(m: Message, now: number): void {
    this.stats.messages++;
    const w = this.weather;
    if (this.rng.chance(w.drop)) {
      this.stats.drops++;
      this.trace.message('drop', m);
      return;
    }
    this.enqueue(m, now + this.delay());
    if (this.rng.chance(w.dup)) {
      this.stats.dups++;
      this.trace.message('dup', m);
      this.enqueue(m, now + this.delay());
    }
  }

  /** Take the messages due at `now`; those on a cut link are dropped here. */
  due(now: number): Message[] {
    const slot = now % HORIZON;
    const bucket = this.ring[slot] as Message[];
    if (bucket.length === 0) return bucket;
    this.ring[slot] = [];
    this.queued -= bucket.length;
    return bucket.filter((m) => this.passes(m));
  }

  /** Messages still in flight. */
  get pending(): number {
    return this.queued;
  }

  setCut(from: number, to: number, cut: boolean): void {
    this.cut[from * MAX_NODES + to] = cut ? 1 : 0;
  }

  isCut(from: number, to: number): boolean {
    return this.cut[from * MAX_NODES + to] === 1;
  }

  healAll(): void {
    this.cut.fill(0);
  }

  private passes(m: Message): boolean {
    const from = nodeIndex(m.from);
    const to = nodeIndex(m.to);
    if (from < 0 || to < 0 || !this.isCut(from, to)) return true;
    this.stats.partitionDrops++;
    this.trace.message('cut', m);
    return false;
  }

  private delay(): number {
    const w = this.weather;
    let d = this.rng.range(w.minDelay, w.maxDelay);
    if (this.rng.chance(w.spike)) {
      this.stats.delaySpikes++;
      d += this.rng.range(1, w.spikeMax);
    }
    return Math.min(Math.max(d, 1), HORIZON - 1);
  }

  private enqueue(m: Message, at: number): void {
    (this.ring[at % HORIZON] as Message[]).push(m);
    this.queued++;
  }
}
