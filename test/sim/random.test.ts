// The PRNG is the root of replayability: same seed, same stream; forks are independent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from './random.js';

const take = (r: Random, n: number) => Array.from({ length: n }, () => r.u32());

test('one seed gives one stream; nearby seeds give unrelated streams', () => {
  assert.deepEqual(take(new Random(42), 100), take(new Random(42), 100));
  const a = take(new Random(1), 100);
  const b = take(new Random(2), 100);
  assert.equal(a.filter((x, i) => x === b[i]).length, 0);
});

test('next() is in [0, 1) and int/range stay within bounds, covering all values', () => {
  const r = new Random(7);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    const k = r.range(3, 9);
    assert.ok(k >= 3 && k <= 9 && Number.isInteger(k));
    seen.add(k);
  }
  assert.equal(seen.size, 7);
});

test('int(n) is roughly uniform', () => {
  const r = new Random(99);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[r.int(10)]!++;
  for (const c of counts) assert.ok(c > 9_500 && c < 10_500, `bucket count ${c}`);
});

test('a fork does not shift its parent beyond the one draw that seeds it', () => {
  const a = new Random(5);
  const b = new Random(5);
  const child = a.fork();
  b.u32();
  take(child, 50);
  assert.deepEqual(take(a, 20), take(b, 20));
});

test('shuffle permutes and pick chooses members', () => {
  const r = new Random(3);
  const items = [1, 2, 3, 4, 5, 6];
  assert.deepEqual([...r.shuffle([...items])].sort(), items);
  assert.ok(items.includes(r.pick(items)));
  assert.throws(() => r.pick([]));
});
