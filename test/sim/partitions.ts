// Partition shapes. Each returns the directed links to cut; the fault scheduler applies one shape
// at a time and heals it by restoring every link.
import { nodeId } from './ids.js';
import type { Random } from './random.js';

export type Link = readonly [from: number, to: number];

export interface Partition {
  readonly name: string;
  readonly cuts: readonly Link[];
}

/** Cut every link between side a and side b, both ways. */
function between(a: readonly number[], b: readonly number[]): Link[] {
  return a.flatMap((x) => b.flatMap((y): Link[] => [[x, y], [y, x]]));
}

/** Two random halves (any split, so sometimes a majority and a minority, sometimes neither). */
export function halves(nodes: readonly number[], rng: Random): Partition {
  const shuffled = rng.shuffle([...nodes]);
  const k = rng.range(1, shuffled.length - 1);
  return { name: 'halves', cuts: between(shuffled.slice(0, k), shuffled.slice(k)) };
}

/** One node (usually the leader) alone: it must step down, the rest must elect another. */
export function isolate(node: number, nodes: readonly number[]): Partition {
  return { name: 'isolate', cuts: between([node], nodes.filter((n) => n !== node)) };
}

/** Two sides that cannot see each other, and one bridge node that sees both. */
export function bridge(nodes: readonly number[], rng: Random): Partition {
  const [b, ...rest] = rng.shuffle([...nodes]);
  const k = rng.range(1, Math.max(1, rest.length - 1));
  return { name: `bridge(${nodeId(b as number)})`, cuts: between(rest.slice(0, k), rest.slice(k)) };
}

/** One-way loss: a node that can send but not hear (or hear but not send). */
export function oneWay(nodes: readonly number[], rng: Random): Partition {
  const x = rng.pick(nodes);
  const others = nodes.filter((n) => n !== x);
  const deaf = rng.chance(0.5);
  const cuts = others.map((y): Link => (deaf ? [y, x] : [x, y]));
  return { name: deaf ? `deaf(${nodeId(x)})` : `mute(${nodeId(x)})`, cuts };
}
