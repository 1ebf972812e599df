// The checkers bite: with each planted core bug enabled, the simulator reports a violation of the
// rule that bug breaks within a bounded number of seeds — on a seed that runs clean without it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ViolationKind } from './checker.js';
import type { BugName } from './options.js';
import { runSeed } from './simulator.js';

const MAX_SEEDS = 300;

const expected: Record<BugName, readonly ViolationKind[]> = {
  voteWithoutLogCheck: ['leader-completeness', 'state-machine-safety', 'convergence'],
  commitPreviousTerm: ['commit-rule', 'leader-completeness', 'state-machine-safety', 'convergence'],
  forgetVote: ['vote', 'election-safety'],
  skipPrevLogCheck: ['log-matching', 'state-machine-safety', 'leader-completeness', 'durability'],
  sendBeforeWrite: ['vote', 'election-safety', 'durability', 'leader-completeness', 'state-machine-safety', 'convergence'],
};

/** The first seed where `bug` breaks one of its rules and the same seed without it is clean. */
function firstCatch(bug: BugName): { seed: number; message: string } | null {
  for (let seed = 1; seed <= MAX_SEEDS; seed++) {
    const v = runSeed({ seed, bug }).violation;
    if (v && expected[bug].includes(v.kind) && runSeed({ seed }).violation === null) return { seed, message: v.message };
  }
  return null;
}

for (const bug of Object.keys(expected) as BugName[]) {
  test(`planted bug ${bug} is caught within ${MAX_SEEDS} seeds`, (t) => {
    const caught = firstCatch(bug);
    assert.ok(caught, `${bug}: no ${expected[bug].join('/')} violation in seeds 1..${MAX_SEEDS}`);
    t.diagnostic(`seed ${caught.seed}: ${caught.message}`);
  });
}
