// The network model: delays, loss, duplication and cut links, all driven by the seeded PRNG.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, type Message } from '../../main/raft/types.js';
import { HORIZON, Network, calmWeather } from './network.js';
import { Random } from './random.js';
import { newStats } from './stats.js';
import { Trace } from './trace.js';

function msg(from: string, to: string, index = 0): Message {
  return {
    type: MessageType.App, from, to, term: 1, logTerm: 0, index, commit: 0, entries: [],
    reject: false, rejectHint: 0, context: '', snapshot: null,
  };
}

function setup(seed = 1) {
  const stats = newStats();
  return { net: new Network(new Random(seed), stats, new Trace(false)), stats };
}

/** Run the clock from step 1 to `until`, collecting what is delivered and when. */
function drain(net: Network, until: number): { at: number; m: Message }[] {
  const out: { at: number; m: Message }[] = [];
  for (let at = 1; at <= until; at++) for (const m of net.due(at)) out.push({ at, m });
  return out;
}

test('calm weather delivers every message once, one or two steps later', () => {
  const { net, stats } = setup();
  for (let i = 0; i < 100; i++) net.send(msg('n1', 'n2', i), 0);
  const got = drain(net, 10);
  assert.equal(got.length, 100);
  assert.ok(got.every(({ at }) => at >= 1 && at <= 2));
  assert.equal(net.pending, 0);
  assert.equal(stats.messages, 100);
});

test('loss, duplication and delay spikes follow the weather', () => {
  const { net, stats } = setup();
  net.weather = { name: 'test', drop: 0.5, dup: 0.5, minDelay: 1, maxDelay: 3, spike: 0.2, spikeMax: 50 };
  for (let i = 0; i < 1000; i++) net.send(msg('n1', 'n2', i), 0);
  const got = drain(net, HORIZON);
  assert.equal(got.length, 1000 - stats.drops + stats.dups);
  assert.ok(stats.drops > 400 && stats.drops < 600, `drops ${stats.drops}`);
  assert.ok(stats.dups > 150 && stats.dups < 350, `dups ${stats.dups}`);
  assert.ok(got.some(({ at }) => at > 3), 'spikes delay some messages past the usual range');
  const order = got.map(({ m }) => m.index);
  assert.notDeepEqual(order, [...order].sort((a, b) => a - b), 'messages are reordered');
});

test('a cut link drops messages at delivery, one direction only', () => {
  const { net, stats } = setup();
  net.send(msg('n1', 'n2'), 0);
  net.send(msg('n2', 'n1'), 0);
  net.setCut(0, 1, true);
  const got = drain(net, 5);
  assert.deepEqual(got.map(({ m }) => m.from), ['n2']);
  assert.equal(stats.partitionDrops, 1);
  net.healAll();
  assert.equal(net.isCut(0, 1), false);
});

test('the same seed makes the same choices', () => {
  const run = (seed: number) => {
    const { net } = setup(seed);
    net.weather = { ...calmWeather, drop: 0.3, dup: 0.3, maxDelay: 9 };
    for (let i = 0; i < 200; i++) net.send(msg('n1', 'n2', i), 0);
    return drain(net, 20).map(({ at, m }) => `${at}:${m.index}`).join();
  };
  assert.equal(run(11), run(11));
  assert.notEqual(run(11), run(12));
});
