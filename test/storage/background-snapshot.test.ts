// Snapshots written by a worker thread (what a peer uses), the size rule for when one is due,
// and the deferred integrity check of the state database.
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
import { EntryType, type Entry } from '../../main/raft/types.js';
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

test('snapshotInBackground: a worker copies the state, then it is recorded and the log compacted', async (t) => {
  const { dir, storage } = freshStorage(t, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  const replica = await fill(storage, 20);
  const applied = replica.machine.applied();
  const creating = storage.snapshotInBackground();
  assert.ok(creating !== null, 'a snapshot is due');
  assert.equal(storage.snapshotInBackground(), null, 'one at a time');
  const meta = await creating;
  assert.deepEqual([meta?.index, meta?.term], [applied.index, applied.term]);
  assert.deepEqual(readdirSync(join(dir, 'snapshots')), [`snapshot-1-${applied.index}.db`]);
  assert.equal(storage.load().entries.length, 0, 'the log up to the snapshot is gone');
  const copy = openDatabase(join(dir, 'snapshots', `snapshot-1-${applied.index}.db`), chatSchema, { readonly: true });
  assert.equal(canonicalHash(copy), canonicalHash(storage.stateDb), 'the copy is the state');
  copy.close();
  assert.equal(storage.snapshotInBackground(), null, 'nothing due right after');
});

test('a copy made stale by a close is thrown away', async (t) => {
  const dir = tempDir(t, 'quorum-data-');
  const storage = openStorage(dir, { snapshotEvery: 10 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  await fill(storage, 20);
  const creating = storage.snapshotInBackground();
  storage.close();
  assert.equal(await creating, null);
  assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
});

test('snapshotEntriesPerMb: a larger state database waits for more entries', async (t) => {
  const { storage } = freshStorage(t, { snapshotEvery: 10, snapshotEntriesPerMb: 1_000_000 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  await fill(storage, 20);
  assert.equal(storage.snapshotDue(), false, '22 entries are fewer than a million per MiB');
  const { storage: plain } = freshStorage(t, { snapshotEvery: 10 });
  plain.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  await fill(plain, 20);
  assert.equal(plain.snapshotDue(), true);
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
