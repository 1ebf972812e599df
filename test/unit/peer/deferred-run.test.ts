// DeferredRun (main/peer/deferred-run.ts): batching by delay or amount, and postpone(), which
// runs once nothing was noted for the delay (the leader's commit notices). Waits rely on
// timer order: of two timers, the one due first fires first, however late the event loop is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { DeferredRun } from '../../../main/peer/deferred-run.js';
import { waitFor } from '../../helpers/wait.js';

test('note(): runs once, after the delay, for everything noted; at once at the limit', async () => {
  let runs = 0;
  const d = new DeferredRun(20, 3, () => runs++);
  d.note(1);
  d.note(1);
  assert.equal(runs, 0);
  await waitFor(() => runs === 1, 'the delayed run');
  d.note(2);
  d.note(1);
  assert.equal(runs, 2, 'the limit (3) runs it at once');
  await delay(40);
  assert.equal(runs, 2, 'and nothing is left to run later');
});

test('postpone(): each note starts the wait again; it runs once things are quiet', async () => {
  let runs = 0;
  const d = new DeferredRun(50, Infinity, () => runs++);
  d.postpone(1);
  await delay(30);
  d.postpone(1); // now due 50 ms from here, not 20
  await delay(30); // due before the postponed run
  assert.equal(runs, 0, 'postponed past the first deadline');
  await waitFor(() => runs === 1, 'the run once quiet');
  d.cancel();
});

test('cancel() and now(): nothing noted runs nothing', () => {
  let runs = 0;
  const d = new DeferredRun(10, Infinity, () => runs++);
  d.now();
  d.postpone(1);
  d.cancel();
  d.now();
  assert.equal(runs, 0);
});
