// The storage worker: one thread kept between jobs, ended when idle, and a failed or stopped
// job never leaves the next one without a worker.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { copyInWorker, quickCheckInWorker, StorageWorker } from '../../main/storage/workers.js';
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
  await assert.rejects(copyInWorker(worker, join(dir, 'missing.db'), join(dir, 'copy.db')), /unable to open/, 'no database to copy');
  const thread = worker.threadId;
  assert.match(await quickCheckInWorker(worker, join(dir, 'missing.db')), /unable to open/, 'a bad file is an answer, not a failure');
  const fresh = join(dir, 'copy2.db');
  assert.deepEqual(await copyInWorker(worker, path, fresh), { index: 0, term: 0 });
  assert.equal(worker.threadId, thread, 'the same worker throughout');
  // Byte 18 of the header: 1 rollback journal, 2 WAL (whose files a read-only open would leave beside the copy).
  assert.equal(readFileSync(fresh)[18], 1, 'the copy is in rollback-journal mode');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('copy2')), ['copy2.db'], 'the copy is one file');
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

test('a copy finishes while another connection commits all the time, and holds the state of one commit', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'quorum-workers-');
  const path = chatDb(dir);
  const db = openDatabase(path, chatSchema);
  t.after(() => db.close());
  // Enough pages that the copy takes many turns of this loop: a backup in several steps would
  // start again after each commit below and never finish.
  db.exec('CREATE TABLE filler (b BLOB); CREATE TABLE counted (n INTEGER)');
  const fill = db.prepare('INSERT INTO filler VALUES (randomblob(4000))');
  db.transaction(() => { for (let i = 0; i < 5_000; i++) fill.run(); })();
  const commit = db.transaction((n: number) => {
    db.prepare('INSERT INTO counted VALUES (?)').run(n);
    db.prepare('UPDATE raft_applied SET idx = ? WHERE id = 1').run(n);
  });
  let commits = 0;
  let copying = true;
  const writer = (async () => {
    while (copying) {
      commit(++commits);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const worker = new StorageWorker();
  t.after(() => worker.stop());
  const into = join(dir, 'copy.db');
  const at = await copyInWorker(worker, path, into).finally(() => { copying = false; });
  await writer;
  assert.ok(commits > 1, 'commits went on while the copy was made');
  const copy = openDatabase(into, chatSchema, { readonly: true });
  try {
    const rows = copy.prepare('SELECT count(*) FROM counted').pluck().get() as number;
    assert.equal(at.index, rows, 'the applied index read back matches the rows of the same commit');
    assert.ok(rows <= commits);
  } finally {
    copy.close();
  }
});
