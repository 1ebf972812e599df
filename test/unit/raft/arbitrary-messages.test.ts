// Messages from members with the right shape and any values (terms, indexes, commits, entries,
// snapshots, hints and types mixed at random): the wire checks shapes only (main/transport/wire.ts), so the
// core must survive the rest. It may throw nothing but LostLogError (a heartbeat whose commit
// lies past the log: the node's peer stops) and RemovedError (a leader's Removed: the same), and
// no exchange may go on without end (settle()
// gives up after 10,000 rounds). Found this way: a refusal at the follower's match made the
// leader probe again at once, forever.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, LostLogError, MessageType, RemovedError, type Entry, type Message } from '../../../main/raft/types.js';
import { Network, seededRandom, text } from './harness.js';

const seeds = 300;
const stepsPerSeed = 300;

/** One run: a group of three with a few entries, then `stepsPerSeed` arbitrary messages. Returns how many LostLogErrors it raised. */
function run(seed: number): number {
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  let lost = 0;
  const net = new Network(['1', '2', '3']);
  net.tolerate = (err) => (err instanceof LostLogError && ++lost > 0) || err instanceof RemovedError;
  net.elect('1');
  for (let i = 0; i < 5; i++) {
    net.get('1').propose(text(`p${i}`));
    net.settle();
  }
  for (let step = 0; step < stepsPerSeed; step++) {
    const to = String(int(1, 3));
    const status = net.get(to).status();
    const term = Math.max(0, status.term + int(-1, 2));
    const index = int(0, status.lastIndex + 3);
    const entries: Entry[] = Array.from({ length: random() < 0.5 ? 0 : int(1, 3) }, (_, i) => ({
      index: index + 1 + i, term: int(0, term), type: random() < 0.9 ? EntryType.Normal : EntryType.ConfChange, data: text(`x${step}`),
    }));
    const snapshot = random() < 0.3 ? {
      meta: { index: int(0, status.lastIndex + 5), term: int(0, term), conf: { voters: random() < 0.8 ? ['1', '2', '3'] : ['1', '9'], learners: random() < 0.1 ? ['4'] : [] } },
      data: text('snapshot'),
    } : null;
    const m: Message = {
      type: int(0, MessageType.Removed) as MessageType, from: random() < 0.1 ? '9' : String(((Number(to) + int(0, 1)) % 3) + 1), to,
      term, logTerm: int(0, term), index, commit: int(0, status.lastIndex + 3), entries,
      reject: random() < 0.3, rejectHint: int(0, status.lastIndex + 3), context: random() < 0.5 ? '' : `c${int(0, 3)}`, snapshot,
    };
    net.deliver(m);
    net.settle();
    if (random() < 0.2) net.tickAll(int(1, 5));
    if (random() < 0.2) {
      try {
        net.get(to).propose(text('q'));
      } catch {
        // dropped (no leader, or not one): routine
      }
      net.settle();
    }
  }
  return lost;
}

test(`the core survives arbitrary messages from members (${seeds} seeds × ${stepsPerSeed})`, () => {
  let lost = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    try {
      lost += run(seed);
    } catch (err) {
      assert.fail(`seed ${seed}: ${(err as Error).message}`);
    }
  }
  assert.ok(lost > 0, 'some heartbeats told a node to commit past its log');
});
