// The storage worker: one thread kept between jobs, ended when idle, and a failed or stopped
// job never leaves the next one without a worker.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { quickCheckInWorker, StorageWorker, vacuumIntoInWorker } from '../../main/storage/workers.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

function chatDb(dir: string): string {
  const path = join(dir, 'chat.db');
  openDatabase(path, chatSchema).close();
  return path;
}

test('jobs share one worker thread until it has been idle for idleMs', async (t) => {
  const path = chatDb(tempDir(t, 'quorum-workers-'));
  const worker = new StorageWorker(200);
  t.after(() => worker.stop());
  assert.equal(worker.threadId, null, 'no thread before the first job');
  assert.equal(await quickCheckInWorker(worker, path), 'ok');
  const first = worker.threadId;
  assert.ok(first !== null);
  assert.equal(await quickCheckInWorker(worker, path), 'ok');
  assert.equal(worker.threadId, first, 'the second job ran on the same thread');
  await waitFor(() => worker.threadId === null, 'the idle worker to end', { timeoutMs: 10_000, intervalMs: 20 });
  assert.equal(await quickCheckInWorker(worker, path), 'ok');
  assert.notEqual(worker.threadId, first, 'a job after the idle end starts a new thread');
});

test('a failing job rejects with its reason and the worker serves the next one', async (t) => {
  const dir = tempDir(t, 'quorum-workers-');
  const path = chatDb(dir);
  const worker = new StorageWorker();
  t.after(() => worker.stop());
  const into = join(dir, 'copy.db');
  writeFileSync(into, 'in the way');
  await assert.rejects(vacuumIntoInWorker(worker, path, into), /file is not a database/, 'VACUUM INTO refuses a file in the way');
  const thread = worker.threadId;
  assert.match(await quickCheckInWorker(worker, into), /not a database/, 'a bad file is an answer, not a failure');
  const fresh = join(dir, 'copy2.db');
  assert.deepEqual(await vacuumIntoInWorker(worker, path, fresh), { index: 0, term: 0 });
  assert.equal(worker.threadId, thread, 'the same worker throughout');
  assert.ok(existsSync(fresh));
});

test('stop() rejects the jobs it cut short; a later job starts a new worker', async (t) => {
  const path = chatDb(tempDir(t, 'quorum-workers-'));
  const worker = new StorageWorker();
  t.after(() => worker.stop());
  const cut = quickCheckInWorker(worker, path);
  worker.stop();
  await assert.rejects(cut, /closed before its worker answered/);
  assert.equal(worker.threadId, null);
  assert.equal(await quickCheckInWorker(worker, path), 'ok');
});
