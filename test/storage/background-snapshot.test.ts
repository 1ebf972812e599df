// Compaction off the event loop (what a peer uses), and the deferred integrity check of the
// state database.
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeCommand } from '../../main/chat/commands.js';
import { canonicalHash } from '../../main/storage/hash.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { ChatReplica } from '../helpers/chat-replica.js';
import { freshStorage, openStorage } from '../helpers/storage.js';
import { EntryType, type Entry, type SnapshotMeta } from '../../main/raft/types.js';
import { WalSync } from '../../main/storage/wal-sync.js';
import type { Storage } from '../../main/storage/storage.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Saves and applies `count` direct messages (after two accounts) through storage and the state machine. */
async function fill(storage: Storage, count: number): Promise<ChatReplica> {
  const replica = new ChatReplica(storage.stateDb);
  const commands = [
    await replica.prepare({ t: 'createAccount', username: 'alice', password: 'alice-password' }),
    await replica.prepare({ t: 'createAccount', username: 'bob', password: 'bob-password' }),
  ];
  for (let i = 0; i < count; i++) commands.push(await replica.prepare({ t: 'sendDirect', actor: 1, to: 2, text: `m${i}` }));
  const entries: Entry[] = replica.entries(commands.map((c) => encodeCommand(c)), EntryType.Normal, 1);
  storage.save({ term: 1, vote: null, commit: entries.length }, entries);
  replica.machine.applyBatch(entries);
  return replica;
}

test('compactInBackground: the applied batches are committed, synced, then the compaction is recorded', async (t) => {
  const { dir, storage } = freshStorage(t, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  const replica = await fill(storage, 0);
  const more = await replica.prepare({ t: 'sendDirect', actor: 1, to: 2, text: 'in the open transaction' });
  const held = replica.entries(Array.from({ length: 20 }, (_, i) => encodeCommand({ ...more, s: 100 + i })), EntryType.Normal, 1);
  storage.save(null, held);
  storage.applyInOpenTransaction(() => replica.machine.applyBatch(held));
  const applied = replica.machine.applied();
  const compacting = storage.compactInBackground();
  assert.ok(compacting !== null, 'a compaction is due');
  assert.equal(storage.compactInBackground(), null, 'one at a time');
  assert.equal(storage.stateDb.inTransaction, false, 'the applied batches were committed first');
  const meta = await compacting;
  assert.deepEqual([meta?.index, meta?.term], [applied.index, applied.term]);
  assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'nothing copied');
  assert.deepEqual([storage.load().snapshot?.meta.index, storage.load().entries.length], [applied.index, 0], 'the log up to it is gone');
  assert.equal(storage.compactInBackground(), null, 'nothing due right after');
});

test('chat.db\'s WAL is synced before the compaction is recorded, in both paths', async (t) => {
  // SIGKILL keeps the page cache, so the crash tests cannot see a missing sync: watch the order.
  const { dir, storage } = freshStorage(t, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  const seen: string[] = [];
  const chatDb = join(dir, 'chat.db');
  const recorded = () => storage.load().snapshot?.meta.index ?? 0;
  for (const name of ['flush', 'flushSync'] as const) {
    const original = WalSync.prototype[name] as (this: WalSync) => unknown;
    t.mock.method(WalSync.prototype, name, function (this: WalSync) {
      if (this.dbPath === chatDb) seen.push(`${name} of chat.db with the compaction at ${recorded()}`);
      return original.call(this);
    });
  }
  await fill(storage, 20);
  const first = await storage.compactInBackground();
  await fill(storage, 20);
  const second = storage.compactLog();
  assert.deepEqual(seen, [`flush of chat.db with the compaction at 0`, `flushSync of chat.db with the compaction at ${first?.index}`]);
  assert.ok((second?.index ?? 0) > (first?.index ?? 0));
});

test('no automatic compaction while a copy for a follower is being made or streamed', async (t) => {
  const { storage } = freshStorage(t, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  await fill(storage, 20);
  const meta = await storage.compactInBackground() as SnapshotMeta;
  await fill(storage, 20);
  assert.equal(storage.compactionDue(), true);
  const making = storage.snapshotToSend(meta);
  assert.equal(storage.compactionDue(), false, 'while the copy is made');
  const streaming = await making;
  assert.deepEqual([storage.compactionDue(), storage.compactInBackground()], [false, null], 'while it streams');
  await streaming.close();
  assert.equal(storage.compactionDue(), true, 'once it is closed');
  const read = await storage.snapshotToSend(meta);
  for await (const chunk of read.chunks) assert.ok(chunk.length > 0);
  assert.equal(storage.compactionDue(), true, 'reading to the end closes it too');
});

test('a compaction cut short by a close is not recorded', async (t) => {
  const dir = tempDir(t, 'quorum-data-');
  const storage = openStorage(dir, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  await fill(storage, 20);
  const compacting = storage.compactInBackground();
  storage.close();
  assert.equal(await compacting, null);
  const again = openStorage(dir);
  t.after(() => again.close());
  assert.deepEqual([again.load().snapshot, again.load().entries.length], [null, 22]);
});

test('a copy for a follower is made by the worker and is a consistent state', async (t) => {
  const { dir, storage } = freshStorage(t, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  await fill(storage, 20);
  const meta = await storage.compactInBackground();
  assert.ok(meta !== null && meta !== undefined);
  const outgoing = await storage.snapshotToSend(meta);
  for await (const chunk of outgoing.chunks) assert.ok(chunk.length > 0);
  const copy = openDatabase(join(dir, 'snapshots', `copy-1-${meta.index}.db`), chatSchema, { readonly: true });
  assert.equal(canonicalHash(copy), canonicalHash(storage.stateDb), 'the copy is the state');
  copy.close();
});

test('stateCheck deferred: open() skips the state check, checkState() reports damage', async (t) => {
  const dir = tempDir(t, 'quorum-data-');
  const first = openStorage(dir);
  await fill(first, 3000);
  first.close();
  const ok = openStorage(dir, { stateCheck: 'deferred' });
  await ok.checkState();
  ok.close();
  // Damage the last page of chat.db (message index pages): open() reads only the header,
  // the schema and the applied index, so it gets through when the check is deferred.
  const path = join(dir, 'chat.db');
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x42), 0, 4096, size - 4096);
  closeSync(fd);
  assert.throws(() => openStorage(dir), { code: 'corrupt' }, 'checked in open() by default');
  const deferred = openStorage(dir, { stateCheck: 'deferred' });
  await assert.rejects(deferred.checkState(), { code: 'corrupt' });
  deferred.close();
});
