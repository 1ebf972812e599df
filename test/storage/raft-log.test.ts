import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { encodeConfChange } from '../../main/raft/confchange.js';
import { EntryType, type Entry, type SnapshotMeta } from '../../main/raft/types.js';
import { raftSchema } from '../../main/storage/migrations/index.js';
import { StorageError } from '../../main/storage/errors.js';
import { RaftStore } from '../../main/storage/raft-store.js';
import { WalSync } from '../../main/storage/wal-sync.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { describeLog, entries, freshStorage, openStorage } from '../helpers/storage.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('a new data directory', () => {
  test('loads as an empty node with its founding membership', (t) => {
    const { storage } = freshStorage(t);
    assert.equal(storage.identity(), null);
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1', 'n2', 'n3'], learners: [] } });
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1', 'n2', 'n3'], learners: [] } });
    assert.deepEqual(storage.load(), {
      hardState: { term: 0, vote: null, commit: 0 }, snapshot: null,
      conf: { voters: ['n1', 'n2', 'n3'], learners: [] }, entries: [], applied: 0,
    });
  });

  test('belongs to one node only', (t) => {
    const { storage } = freshStorage(t);
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
    assert.throws(() => storage.bootstrap({ nodeId: 'n2', founders: { voters: ['n2'], learners: [] } }), /belongs to node n1/);
  });
});

describe('hard state and log', () => {
  test('survive closing and reopening', (t) => {
    const { dir, storage } = freshStorage(t);
    storage.save({ term: 3, vote: 'n2', commit: 2 }, entries(1, 4, 3));
    storage.close();
    const again = openStorage(dir);
    t.after(() => again.close());
    const loaded = again.load();
    assert.deepEqual(loaded.hardState, { term: 3, vote: 'n2', commit: 2 });
    assert.deepEqual(describeLog(loaded.entries), ['1/3:e1t3', '2/3:e2t3', '3/3:e3t3', '4/3:e4t3']);
    assert.equal(loaded.entries[0]?.type, EntryType.Normal);
  });

  test('hard state alone, entries alone, and nothing at all', (t) => {
    const { storage } = freshStorage(t);
    storage.save(null, entries(1, 2, 1));
    storage.save({ term: 2, vote: null, commit: 1 }, []);
    storage.save(null, []);
    const loaded = storage.load();
    assert.deepEqual([loaded.hardState, loaded.entries.length], [{ term: 2, vote: null, commit: 1 }, 2]);
  });

  test('entries from index i replace the suffix from i (a new leader\'s log wins)', (t) => {
    const { storage } = freshStorage(t);
    storage.save(null, entries(1, 5, 1));
    storage.save(null, entries(3, 3, 2));
    assert.deepEqual(describeLog(storage.load().entries), ['1/1:e1t1', '2/1:e2t1', '3/2:e3t2']);
    storage.save(null, entries(4, 6, 2));
    storage.save(null, entries(2, 2, 3));
    assert.deepEqual(describeLog(storage.load().entries), ['1/1:e1t1', '2/3:e2t3']);
  });

  test('refuses a gap, a non-contiguous batch and entries inside the snapshot', (t) => {
    const { storage } = freshStorage(t);
    storage.save(null, entries(1, 3, 1));
    assert.throws(() => storage.save(null, entries(5, 6, 1)), { code: 'misuse' });
    assert.throws(() => storage.save(null, [...entries(4, 4, 1), ...entries(6, 6, 1)]), { code: 'misuse' });
    assert.throws(() => storage.save(null, entries(0, 0, 1)), { code: 'misuse' });
    assert.deepEqual(storage.load().entries.length, 3);
  });

  test('a failed batch writes nothing, hard state included', (t) => {
    const { storage } = freshStorage(t);
    storage.save({ term: 1, vote: 'n1', commit: 0 }, entries(1, 2, 1));
    assert.throws(() => storage.save({ term: 9, vote: 'n9', commit: 2 }, entries(7, 8, 9)), { code: 'misuse' });
    assert.deepEqual(storage.load().hardState, { term: 1, vote: 'n1', commit: 0 });
  });
});

describe('membership as of an index', () => {
  test('replays the conf changes in the log over the founders', (t) => {
    const { storage } = freshStorage(t);
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
    const conf = (index: number, data: Uint8Array) => ({ index, term: 1, type: EntryType.ConfChange, data });
    storage.save(null, [
      ...entries(1, 1, 1),
      conf(2, encodeConfChange({ type: 'addLearner', node: 'n2' })),
      ...entries(3, 3, 1),
      conf(4, encodeConfChange({ type: 'promote', node: 'n2' })),
      conf(5, Buffer.from('{"type":"promote"')), // corrupt: a no-op, as in the core
    ]);
    // Snapshot metadata (see snapshots.test.ts) is where this shows; load() keeps the founders.
    assert.deepEqual(storage.load().conf, { voters: ['n1'], learners: [] });
    const applied = storage.stateDb.prepare('UPDATE raft_applied SET idx = ?, term = 1');
    applied.run(3);
    assert.deepEqual(storage.compactLog()?.conf, { voters: ['n1'], learners: ['n2'] });
    applied.run(5);
    assert.deepEqual(storage.compactLog()?.conf, { voters: ['n1', 'n2'], learners: [] });
  });

  test('a copy sent at a later index than the compaction carries the membership at its own index', async (t) => {
    const { storage } = freshStorage(t);
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
    const conf = (index: number, data: Uint8Array) => ({ index, term: 1, type: EntryType.ConfChange, data });
    storage.save(null, [...entries(1, 2, 1), conf(3, encodeConfChange({ type: 'addLearner', node: 'n2' }))]);
    const applied = storage.stateDb.prepare('UPDATE raft_applied SET idx = ?, term = 1');
    applied.run(2);
    const compacted = storage.compactLog();
    assert.deepEqual([compacted?.index, compacted?.conf], [2, { voters: ['n1'], learners: [] }]);
    applied.run(3); // the conf change applied after the compaction
    const outgoing = await storage.snapshotToSend(compacted as SnapshotMeta);
    await outgoing.close();
    assert.deepEqual([outgoing.meta.index, outgoing.meta.conf], [3, { voters: ['n1'], learners: ['n2'] }]);
  });
});

describe('consistency checks at load', () => {
  test('a state database ahead of the log is refused', (t) => {
    const { storage } = freshStorage(t);
    storage.save({ term: 1, vote: null, commit: 2 }, entries(1, 2, 1));
    storage.stateDb.prepare('UPDATE raft_applied SET idx = 5, term = 1').run();
    assert.throws(() => storage.load(), { code: 'inconsistent' });
  });

  test('the commit index is never behind what was applied', (t) => {
    const { storage } = freshStorage(t);
    storage.save({ term: 1, vote: null, commit: 1 }, entries(1, 3, 1));
    storage.stateDb.prepare('UPDATE raft_applied SET idx = 2, term = 1').run();
    assert.deepEqual([storage.load().hardState.commit, storage.load().applied], [2, 2]);
  });
});

describe('writes synced off the event loop (the peer\'s path: write(), then await the sync)', () => {
  test('the written entries and hard state are there after the sync; a move of the commit index alone is not written', async (t) => {
    const { dir, storage } = freshStorage(t);
    const durable = storage.write({ term: 1, vote: 'n1', commit: 0 }, entries(1, 3, 1));
    assert.ok(durable !== null, 'entries need a sync');
    await durable;
    assert.equal(storage.write({ term: 1, vote: 'n1', commit: 3 }, []), null, 'a commit-only write needs none');
    assert.ok(storage.write({ term: 2, vote: null, commit: 3 }, []) !== null, 'a new term does');
    storage.close();
    const again = openStorage(dir);
    t.after(() => again.close());
    const loaded = again.load();
    assert.deepEqual([loaded.hardState, loaded.entries.length], [{ term: 2, vote: null, commit: 3 }, 3]);
  });

  test('a sync still in flight when the storage closes completes (its file is closed after it)', async (t) => {
    const { dir, storage } = freshStorage(t);
    const durable = storage.write({ term: 2, vote: 'n2', commit: 0 }, entries(1, 2, 2));
    storage.close();
    await durable;
    const again = openStorage(dir);
    t.after(() => again.close());
    assert.deepEqual(describeLog(again.load().entries), ['1/2:e1t2', '2/2:e2t2']);
  });
});

describe('a failed sync', () => {
  test('rejects with an io error naming the file, and every later sync fails with the same error', async (t) => {
    // fdatasync of a character device fails (EINVAL): a WAL that is /dev/null stands for a disk
    // that refused a write-back. Linux reports such an error once per open file, so a later
    // sync on the same fd could succeed though the lost pages were never written.
    const dir = tempDir(t);
    symlinkSync('/dev/null', join(dir, 'x.db-wal'));
    const wal = new WalSync(join(dir, 'x.db'), 'the test file');
    t.after(() => wal.close());
    const first = await wal.flush().then(() => null, (err: unknown) => err);
    assert.ok(first instanceof StorageError && first.code === 'io' && first.message.includes('could not sync the test file'), String(first));
    await assert.rejects(wal.flush(), (err) => err === first);
    assert.throws(() => wal.flushSync(), (err) => err === first);
  });
});

describe('the rows a snapshot covers', () => {
  /** raft.db's log rows at or below `index`, counted on a connection of its own. */
  function rowsUpTo(dir: string, index: number): number {
    const db = new Database(join(dir, 'raft.db'), { readonly: true });
    try {
      return db.prepare<[number], number>('SELECT count(*) FROM log WHERE idx <= ?').pluck().get(index) as number;
    } finally {
      db.close();
    }
  }

  const conf = { voters: ['n1'], learners: [] };

  test('are trimmed by the writes after it, a bounded number per write, across a restart', (t) => {
    const dir = tempDir(t, 'quorum-raft-');
    const open = () => new RaftStore(openDatabase(join(dir, 'raft.db'), raftSchema), 0); // not exclusive: rowsUpTo reads it too
    let store = open();
    t.after(() => store.close());
    store.save({ term: 1, vote: null, commit: 0 }, entries(1, 1300, 1));
    store.recordSnapshot({ meta: { index: 1200, term: 1, conf }, file: 'snapshot-1-1200.db' }, false);
    store.flushSync();
    assert.equal(rowsUpTo(dir, 1200), 1200, 'recording the snapshot deletes nothing');
    assert.deepEqual([store.entriesAfter(1200)[0]?.index, store.lastIndex()], [1201, 1300]);
    store.save(null, entries(1301, 1301, 1));
    assert.equal(rowsUpTo(dir, 1200), 1200 - 512);
    store.close();
    store = open();
    assert.deepEqual([store.snapshot()?.meta.index, store.lastIndex(), store.entriesAfter(1200).length], [1200, 1301, 101]);
    store.save(null, entries(1302, 1302, 1));
    store.save(null, entries(1303, 1303, 1));
    assert.equal(rowsUpTo(dir, 1200), 0);
    assert.deepEqual(describeLog(store.entriesAfter(1200)).slice(0, 1), ['1201/1:e1201t1']);
    assert.equal(store.entriesAfter(1200).length, 103, 'nothing after the snapshot is trimmed');
  });

  test('keep the last `retainedEntries` of them, which the core reads (CompactedLog), across a restart', (t) => {
    const dir = tempDir(t, 'quorum-raft-');
    const open = () => new RaftStore(openDatabase(join(dir, 'raft.db'), raftSchema), 300);
    let store = open();
    t.after(() => store.close());
    store.save({ term: 1, vote: null, commit: 0 }, [...entries(1, 1000, 1), ...entries(1001, 1300, 2)]);
    store.recordSnapshot({ meta: { index: 1200, term: 2, conf }, file: null }, false);
    for (let i = 1301; i <= 1303; i++) store.save(null, entries(i, i, 2));
    assert.equal(rowsUpTo(dir, 1200), 300, 'rows 901..1200 stay');
    store.close();
    store = open();
    store.save(null, entries(1304, 1304, 2));
    assert.equal(rowsUpTo(dir, 1200), 300, 'still after a restart and another write');
    const held = store.compactedLog();
    assert.deepEqual([held.term(900), held.term(901), held.term(1000), held.term(1001), held.term(1200), held.term(1201)],
      [undefined, 1, 1, 2, 2, undefined], 'held: 901..1200 (after the snapshot the core holds them in memory)');
    const bytes = entries(998, 1000, 1).reduce((sum, e) => sum + e.data.length, 0);
    assert.deepEqual(describeLog(held.entries(998, 1100, bytes)), ['998/1:e998t1', '999/1:e999t1', '1000/1:e1000t1'], 'at most maxBytes');
    assert.deepEqual(held.entries(1200, 1300, 1).map((e) => e.index), [1200], 'at least one, and none past the snapshot');
    assert.deepEqual(held.entries(900, 1000, 1 << 20), [], 'nothing when the first one asked for is gone');
    store.recordSnapshot({ meta: { index: 2000, term: 3, conf }, file: 'snapshot-3-2000.db' }, true);
    assert.deepEqual([held.term(1000), held.entries(1000, 1100, 1 << 20)], [undefined, []], 'an installed snapshot supersedes them');
  });

  test('keep only about `retainedBytes` of them when the entries are large, across a restart', (t) => {
    const dir = tempDir(t, 'quorum-raft-');
    const open = () => new RaftStore(openDatabase(join(dir, 'raft.db'), raftSchema), 1_000, 10_000);
    const sized = (first: number, last: number): Entry[] => Array.from({ length: last - first + 1 },
      (_, i) => ({ index: first + i, term: 1, type: EntryType.Normal, data: new Uint8Array(100) }));
    let store = open();
    t.after(() => store.close());
    store.save({ term: 1, vote: null, commit: 0 }, sized(1, 1300));
    store.recordSnapshot({ meta: { index: 1200, term: 1, conf }, file: null }, false);
    for (let i = 1301; i <= 1303; i++) store.save(null, sized(i, i));
    assert.equal(rowsUpTo(dir, 1200), 100, '10,000 bytes of 100-byte entries: 1101..1200 stay, not 1,000 rows');
    store.close();
    store = open(); // the mean size is read back from the latest rows
    store.recordSnapshot({ meta: { index: 1300, term: 1, conf }, file: null }, false);
    store.save(null, sized(1304, 1304));
    assert.equal(rowsUpTo(dir, 1300), 100, 'after a restart, rows 1201..1300');
    assert.equal(store.compactedLog().term(1201), 1);
    assert.equal(store.compactedLog().term(1200), undefined);
  });
});
