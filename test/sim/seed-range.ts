// Shared by the seeds-*.test.ts files: run a range of seeds as one test case and require zero
// violations. The ranges live in separate files so that `node --test` runs them in parallel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultOptions, replayCommand } from './options.js';
import { runSeed } from './simulator.js';
import { addStats, newStats, type StatName } from './stats.js';

/** Faults and work every range must have exercised, or the zero-violation result means little. */
const mustHappen: readonly StatName[] = [
  'drops', 'dups', 'delaySpikes', 'partitions', 'crashes', 'readyCrashes', 'restarts', 'slowdowns', 'slowDisks',
  'snapshotsSent', 'snapshotsInstalled', 'compactions', 'confChangesApplied', 'transfers',
  'leaderChanges', 'reportedCommitted', 'duplicateApplies', 'readsCompleted', 'sentBeforeWrite', 'sentTailsLost',
  'appliedWhileWriting',
];

export function testSeeds(from: number, count: number): void {
  test(`seeds ${from}..${from + count - 1} run without violations`, () => {
    const totals = newStats();
    const failures: string[] = [];
    for (let seed = from; seed < from + count; seed++) {
      const r = runSeed({ seed });
      addStats(totals, r.stats);
      if (r.violation) {
        failures.push(`seed ${seed}: [${r.violation.kind}] ${r.violation.message}\n  replay: ${replayCommand({ ...defaultOptions, seed })}`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    for (const name of mustHappen) assert.ok(totals[name] > 0, `no ${name} in seeds ${from}..${from + count - 1}`);
  });
}
