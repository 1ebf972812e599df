import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { encodeCommand } from '../../main/chat/commands.js';
import type { CompactedLog, SnapshotMeta } from '../../main/raft/types.js';
import { canonicalHash } from '../../main/storage/hash.js';
import type { Storage } from '../../main/storage/storage.js';
import type { SnapshotStore, SnapshotWriter } from '../../main/transport/transport.js';
import { ChatReplica } from '../helpers/chat-replica.js';
import { chatWorkload } from '../helpers/chat-workload.js';
import { freshStorage, openStorage } from '../helpers/storage.js';

/** Logs and applies a seeded workload through `storage`, as a single-node peer would. */
async function runWorkload(storage: Storage, seed: number, commands: number, term = 1): Promise<number> {
  const replica = new ChatReplica(storage.stateDb, `client-${seed}`);
  const data = [];
  for (const request of chatWorkload(seed, 4, commands)) data.push(encodeCommand(await replica.prepare(request)));
  const log = replica.entries(data, undefined, term);
  const last = log[log.length - 1]?.index ?? 0;
  storage.save({ term, vote: null, commit: last }, log);
  replica.machine.applyBatch(log);
  return log.length;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

/** What a follower is sent for `wanted`: the copy's metadata and its bytes. */
async function sent(storage: Storage, wanted: SnapshotMeta): Promise<{ meta: SnapshotMeta; data: Buffer }> {
  const out = await storage.snapshotToSend(wanted);
  return { meta: out.meta, data: Buffer.concat(await collect(out.chunks)) };
}

async function snapshotted(t: TestContext): Promise<{ dir: string; storage: Storage; meta: SnapshotMeta }> {
  const { dir, storage } = freshStorage(t);
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  const logged = await runWorkload(storage, 1, 60);
  const meta = storage.compactLog();
  assert.equal(meta?.index, logged);
  assert.ok(meta !== null);
  return { dir, storage, meta };
}

describe('compacting the log', () => {
  test('records the applied index and compacts the log up to it, without copying the state', async (t) => {
    const { dir, storage, meta } = await snapshotted(t);
    assert.deepEqual([meta.term, meta.conf], [1, { voters: ['n1'], learners: [] }]);
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'the state database is the snapshot');
    const loaded = storage.load();
    assert.deepEqual([loaded.snapshot?.meta, loaded.snapshot?.data.length, loaded.entries.length], [meta, 0, 0]);
    assert.equal(storage.compactLog(), null, 'nothing applied since');
  });

  test('keeps the entries after it', async (t) => {
    const { storage, meta } = await snapshotted(t);
    const logged = await runWorkload(storage, 2, 10);
    const loaded = storage.load();
    assert.deepEqual([loaded.entries[0]?.index, loaded.entries.length], [meta.index + 1, logged]);
    assert.equal(storage.compactLog()?.index, meta.index + logged);
  });

  test('offers a follower the entries kept below it only while replaying them costs less than a copy of the state', async (t) => {
    const { dir, storage, meta } = await snapshotted(t);
    const state = storage.stateDb;
    const stateBytes = (state.pragma('page_count', { simple: true }) as number) * (state.pragma('page_size', { simple: true }) as number);
    storage.close();
    const offered = (replayEntryBytes: number, check: (kept: CompactedLog) => void): void => {
      const reopened = openStorage(dir, { replayEntryBytes });
      try {
        check(reopened.compactedLog());
      } finally {
        reopened.close();
      }
    };
    // A twentieth of the state per entry: a follower lacking up to 20 entries is sent them.
    offered(Math.floor(stateBytes / 20), (kept) => {
      const first = meta.index - 20;
      assert.equal(kept.term(first), 1, `a follower whose log ends at ${first} is sent the entries after it`);
      assert.equal(kept.entries(first + 1, meta.index, Infinity)[0]?.index, first + 1);
      assert.equal(kept.term(first - 1), undefined, 'one entry further behind gets a copy');
      assert.deepEqual(kept.entries(first, meta.index, Infinity), []);
    });
    offered(0, (kept) => {
      assert.equal(kept.term(1), 1, 'with 0, every kept entry is offered');
      assert.equal(kept.entries(1, meta.index, Infinity).length, meta.index);
    });
  });

  test('a state database older than the compaction point is refused, and nothing is changed', async (t) => {
    // Compaction syncs chat.db first, so only a disk that loses synced writes (or an old copy put
    // in its place) can leave it behind; the entries it lacks are gone from the log.
    const { dir, storage } = freshStorage(t);
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
    await runWorkload(storage, 1, 20);
    storage.close();
    const older = join(dir, 'chat.db.older');
    copyFileSync(join(dir, 'chat.db'), older);
    const again = openStorage(dir);
    await runWorkload(again, 2, 20);
    const meta = again.compactLog();
    again.close();
    rmSync(join(dir, 'chat.db-wal'), { force: true });
    copyFileSync(older, join(dir, 'chat.db'));
    const files = ['chat.db', 'raft.db'].map((name) => readFileSync(join(dir, name)));
    assert.throws(() => openStorage(dir), (err: Error & { code?: string }) =>
      err.code === 'inconsistent' && err.message.includes(`compacted up to ${meta?.index}`));
    assert.deepEqual(['chat.db', 'raft.db'].map((name) => readFileSync(join(dir, name))), files);
    const open = readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } });
    assert.deepEqual(open.filter((path) => path.startsWith(dir)), [], 'both files closed: the directory can be moved aside');
  });

  test('survives a restart: load() returns it and the entries after', async (t) => {
    const { dir, storage, meta } = await snapshotted(t);
    await runWorkload(storage, 3, 5);
    const before = { load: storage.load(), hash: canonicalHash(storage.stateDb) };
    storage.close();
    const again = openStorage(dir);
    t.after(() => again.close());
    assert.deepEqual(again.load(), before.load);
    assert.equal(again.load().snapshot?.meta.index, meta.index);
    assert.equal(canonicalHash(again.stateDb), before.hash);
  });

  test('is due after the configured number of applied entries', async (t) => {
    const { storage } = freshStorage(t, { snapshotEvery: 50 });
    await runWorkload(storage, 4, 30);
    assert.equal(storage.compactionDue(), false);
    await runWorkload(storage, 5, 30);
    assert.equal(storage.compactionDue(), true);
    storage.compactLog();
    assert.equal(storage.compactionDue(), false);
  });

  test('snapshotSpread stretches each interval by a random fraction, drawn again after every snapshot', async (t) => {
    const { storage } = freshStorage(t, { snapshotEvery: 20, snapshotSpread: 0.5 });
    const intervals: number[] = [];
    let base = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const interval = Array.from({ length: 41 }, (_, k) => k).find((k) => storage.compactionDue(base + k)) ?? -1;
      assert.ok(interval >= 20 && interval <= 30, `due after ${interval} entries, not within 20..30`);
      intervals.push(interval);
      base += await runWorkload(storage, seed, interval);
      assert.equal(storage.compactLog()?.index, base);
    }
    assert.ok(new Set(intervals).size > 1, `every interval the same: ${intervals.join(', ')}`);
  });

  test('a start removes leftovers: partial files, copies and unrecorded snapshots', async (t) => {
    const { dir, storage, meta } = await snapshotted(t);
    await sent(storage, meta);
    storage.close();
    for (const name of ['copy.db.partial', 'snapshot-1-99.db', 'received-2-5.db']) writeFileSync(join(dir, 'snapshots', name), 'x');
    writeFileSync(join(dir, 'chat.db.partial'), 'x');
    openStorage(dir).close();
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
    assert.equal(existsSync(join(dir, 'chat.db.partial')), false);
  });
});

describe('the copy a follower is sent', () => {
  test('holds the state as of the copy, at the compaction point or later, and says so', async (t) => {
    const { dir, storage, meta } = await snapshotted(t);
    const logged = await runWorkload(storage, 2, 10);
    storage.commitState();
    const copy = await sent(storage, meta);
    assert.deepEqual([copy.meta.index, copy.meta.term, copy.meta.conf], [meta.index + logged, 1, meta.conf], 'newer than the compaction point');
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [`copy-1-${copy.meta.index}.db`]);
    const { storage: follower } = freshStorage(t);
    follower.installSnapshot({ meta: copy.meta, data: copy.data });
    assert.equal(canonicalHash(follower.stateDb), canonicalHash(storage.stateDb));
  });

  test('is kept for the next follower until a compaction passes it', async (t) => {
    const { dir, storage, meta } = await snapshotted(t);
    const first = await sent(storage, meta);
    await runWorkload(storage, 3, 5);
    storage.commitState();
    const second = await sent(storage, meta);
    assert.deepEqual(second.meta, first.meta, 'the copy still serves: no new one');
    const compacted = storage.compactLog();
    assert.ok(compacted !== null && compacted.index > first.meta.index);
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'the compaction made it useless');
    const third = await sent(storage, compacted);
    assert.equal(third.meta.index, compacted.index, 'a new copy');
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [`copy-1-${compacted.index}.db`]);
  });

  test('a copy that streams while a newer one replaces it is read whole', async (t) => {
    const { storage, meta } = await snapshotted(t);
    const streaming = await storage.snapshotToSend(meta, 4096);
    await runWorkload(storage, 4, 5);
    const compacted = storage.compactLog() as SnapshotMeta; // removes the first copy's file
    const newer = await sent(storage, compacted);
    const data = Buffer.concat(await collect(streaming.chunks));
    const { storage: follower } = freshStorage(t);
    follower.installSnapshot({ meta: streaming.meta, data });
    assert.equal(follower.load().applied, meta.index);
    assert.ok(newer.meta.index > meta.index);
  });
});

describe('sending and installing a snapshot', () => {
  test('streams in chunks to another node, which installs it and ends with identical tables', async (t) => {
    const leader = await snapshotted(t);
    const { storage: follower } = freshStorage(t);
    await runWorkload(follower, 9, 5); // state and log that the snapshot supersedes
    // Through the transport's interface, as the peer will wire it.
    const stores: SnapshotStore[] = [leader.storage, follower].map((s) => ({
      read: (meta) => s.snapshotToSend(meta, 4096),
      receive: (meta) => s.receiveSnapshot(meta),
    }));
    const outgoing = await (stores[0] as SnapshotStore).read(leader.meta);
    assert.deepEqual(outgoing.meta, leader.meta, 'nothing applied since the compaction');
    const chunks = await collect(outgoing.chunks);
    assert.ok(chunks.length > 5, `${chunks.length} chunks`);
    const receiver = stores[1]?.receive(leader.meta, 'n1') as SnapshotWriter;
    for (const chunk of chunks) await receiver.write(chunk);
    await receiver.finish();
    follower.installSnapshot({ meta: leader.meta, data: new Uint8Array(0) });

    assert.equal(canonicalHash(follower.stateDb), canonicalHash(leader.storage.stateDb));
    const loaded = follower.load();
    assert.deepEqual([loaded.snapshot?.meta, loaded.entries, loaded.applied, loaded.hardState.commit], [leader.meta, [], leader.meta.index, leader.meta.index]);
    follower.save(null, [{ index: leader.meta.index + 1, term: 2, type: 0, data: new Uint8Array(0) }]); // the log goes on
  });

  test('a snapshot carried whole in the message installs the same way', async (t) => {
    const leader = await snapshotted(t);
    const { dir, storage: follower } = freshStorage(t);
    const { data } = await sent(leader.storage, leader.meta);
    follower.installSnapshot({ meta: leader.meta, data });
    assert.equal(canonicalHash(follower.stateDb), canonicalHash(leader.storage.stateDb));
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'the file became chat.db');
    const logged = await runWorkload(follower, 10, 3, 2); // applying goes on from the snapshot's index
    assert.equal(follower.load().applied, leader.meta.index + logged);
  });

  test('a damaged or mislabelled snapshot is refused and changes nothing', async (t) => {
    const leader = await snapshotted(t);
    const { dir, storage: follower } = freshStorage(t);
    const hash = canonicalHash(follower.stateDb);
    const { data } = await sent(leader.storage, leader.meta);
    const cases: [string, SnapshotMeta, Uint8Array][] = [
      ['truncated', leader.meta, data.subarray(0, data.length >> 1)],
      ['garbage', leader.meta, Buffer.alloc(8192, 7)],
      ['other index', { ...leader.meta, index: leader.meta.index + 1 }, data],
      ['other term', { ...leader.meta, term: 5 }, data],
    ];
    for (const [name, meta, bytes] of cases) {
      const receiver = follower.receiveSnapshot(meta);
      await receiver.write(bytes);
      await assert.rejects(receiver.finish(), { code: 'bad-snapshot' }, name);
      assert.throws(() => follower.installSnapshot({ meta, data: bytes }), { code: 'bad-snapshot' }, name);
    }
    assert.throws(() => follower.installSnapshot({ meta: leader.meta, data: new Uint8Array(0) }), /no received file/);
    assert.deepEqual([canonicalHash(follower.stateDb), follower.load().snapshot], [hash, null]);
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
  });

  test('receptions that can no longer be installed are removed once the state is past them', async (t) => {
    const leader = await snapshotted(t);
    const older = await sent(leader.storage, leader.meta);
    await runWorkload(leader.storage, 11, 5);
    const newer = await sent(leader.storage, leader.storage.compactLog() as SnapshotMeta);
    const { dir, storage: follower } = freshStorage(t);
    for (const copy of [older, newer]) {
      const receiver = follower.receiveSnapshot(copy.meta);
      await receiver.write(copy.data);
      await receiver.finish();
    }
    assert.equal(readdirSync(join(dir, 'snapshots')).length, 2);
    follower.installSnapshot({ meta: newer.meta, data: new Uint8Array(0) });
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'the older reception went too');
  });

  test('an aborted reception leaves nothing behind', async (t) => {
    const leader = await snapshotted(t);
    const { dir, storage: follower } = freshStorage(t);
    const receiver = follower.receiveSnapshot(leader.meta);
    await receiver.write(Buffer.from('half a file'));
    await receiver.abort();
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
  });

  test('two receptions of one snapshot at once keep apart: one aborting leaves the other whole', async (t) => {
    const leader = await snapshotted(t);
    const { data } = await sent(leader.storage, leader.meta);
    const { dir, storage: follower } = freshStorage(t);
    const first = follower.receiveSnapshot(leader.meta);
    const second = follower.receiveSnapshot(leader.meta);
    const half = data.length >> 1;
    await first.write(data.subarray(0, half));
    await second.write(data.subarray(0, half));
    await first.write(Buffer.from('a resent stream overlapping the first'));
    await first.abort();
    await second.write(data.subarray(half));
    await second.finish();
    follower.installSnapshot({ meta: leader.meta, data: new Uint8Array(0) });
    assert.equal(canonicalHash(follower.stateDb), canonicalHash(leader.storage.stateDb));
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
  });

  test('an installed snapshot becomes chat.db, which holds its index as after a compaction', async (t) => {
    const leader = await snapshotted(t);
    const { dir, storage: middle } = freshStorage(t);
    middle.installSnapshot({ meta: leader.meta, data: (await sent(leader.storage, leader.meta)).data });
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
    middle.close();
    const again = openStorage(dir);
    t.after(() => again.close());
    assert.deepEqual([again.load().snapshot?.meta, again.load().applied], [leader.meta, leader.meta.index]);
    const onward = await sent(again, leader.meta);
    assert.deepEqual(onward.meta, leader.meta, 'sent on as a copy of chat.db');
    assert.equal(canonicalHash(again.stateDb), canonicalHash(leader.storage.stateDb));
  });
});
