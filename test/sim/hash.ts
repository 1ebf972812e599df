// Small non-cryptographic hashes: entry fingerprints for the checkers, the sim state machine's
// running hash and the trace hash that proves a seed replays identically.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over bytes: fingerprints entry data for the log-matching and state-machine checks. */
export function hashBytes(data: Uint8Array, seed = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ (data[i] as number), FNV_PRIME);
  return h >>> 0;
}

/**
 * A running 64-bit hash (two 32-bit lanes with different multipliers) over numbers and strings.
 * Two lanes make accidental equality of two different traces or states practically impossible.
 */
export class Hasher {
  constructor(private h1 = 0x9e3779b9, private h2 = 0x85ebca6b) {}

  num(n: number): this {
    const lo = n >>> 0;
    const hi = Math.floor(n / 4294967296) >>> 0;
    this.mix(lo);
    if (hi !== 0) this.mix(hi);
    return this;
  }

  str(s: string): this {
    for (let i = 0; i < s.length; i++) this.mix(s.charCodeAt(i));
    this.mix(0xffff); // terminator so that ("ab","c") and ("a","bc") differ
    return this;
  }

  hex(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** The two lanes, for persisting a running hash inside a snapshot. */
  lanes(): [number, number] {
    return [this.h1 >>> 0, this.h2 >>> 0];
  }

  private mix(x: number): void {
    this.h1 = Math.imul(this.h1 ^ x, 0x01000193);
    this.h1 ^= this.h1 >>> 15;
    this.h2 = Math.imul(this.h2 ^ x, 0x2c1b3c6d);
    this.h2 ^= this.h2 >>> 13;
  }
}
