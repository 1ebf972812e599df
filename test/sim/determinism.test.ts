// One seed replays one whole run: the trace hash of two runs of a seed is identical, and
// different seeds produce different runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeed } from './simulator.js';

test('the same seed gives the same trace, twice', () => {
  for (const seed of [1, 77, 4242]) {
    const a = runSeed({ seed });
    const b = runSeed({ seed });
    assert.equal(a.traceHash, b.traceHash, `seed ${seed}`);
    assert.deepEqual(a.stats, b.stats);
    assert.ok(a.stats.messages > 1000, 'the run did real work');
  }
});

test('different seeds give different runs', () => {
  assert.notEqual(runSeed({ seed: 1 }).traceHash, runSeed({ seed: 2 }).traceHash);
});

test('a planted bug changes the run but not its determinism', () => {
  const a = runSeed({ seed: 5, bug: 'forgetVote' });
  assert.equal(a.traceHash, runSeed({ seed: 5, bug: 'forgetVote' }).traceHash);
  assert.deepEqual(a.violation, runSeed({ seed: 5, bug: 'forgetVote' }).violation);
});
