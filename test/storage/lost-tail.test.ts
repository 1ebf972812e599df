// chat.db commits are not fsynced (synchronous=NORMAL, see docs/storage.md): a power cut may
// take its last transactions while raft.db, fsynced on every Ready, keeps the log (the commit
// index, volatile in Raft, is learnt again once a leader commits). Simulated here by putting back an older copy of chat.db (what the disk held before the
// lost commits) under a newer raft.db: the replica must apply the committed tail again, for the
// first time on that file, exactly once, and answer the client's retries with the first results.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/temp-dir.js';
import { DriverProcess, acks, dump, sends, setup, type Ack } from './crash-harness.js';

/** chat.db as the disk held it at this moment (the replica must be stopped: no WAL left). */
function keepChatDb(dir: string): string {
  assert.ok(!existsSync(join(dir, 'chat.db-wal')), 'a clean exit leaves no WAL');
  const copy = join(dir, 'chat.db.older');
  copyFileSync(join(dir, 'chat.db'), copy);
  return copy;
}

/** The power cut: chat.db loses every commit since `copy` was kept. */
function loseTail(dir: string, copy: string): void {
  for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `chat.db${suffix}`), { force: true });
  copyFileSync(copy, join(dir, 'chat.db'));
  rmSync(copy);
}

/**
 * After the restart: `lost` is applied again, for the first time on this file, with the results
 * its clients were given; a retry of any of `acknowledged` is a duplicate with its first result;
 * the messages are `bodies`, each once.
 */
async function appliedAgainOnce(replica: DriverProcess, lost: readonly Ack[], acknowledged: readonly Ack[], bodies: readonly string[]): Promise<void> {
  const reapplied = acks(await replica.run({ op: 'elect' }));
  assert.deepEqual(reapplied.map((a) => [a.seq, a.duplicate, a.result]), lost.map((a) => [a.seq, false, a.result]),
    'applied again, for the first time on this file, with the same results (deterministic ids)');
  const retried = acks(await replica.run(sends(...acknowledged.map((a) => a.seq))));
  assert.deepEqual(retried.map((a) => [a.seq, a.duplicate, a.result]), acknowledged.map((a) => [a.seq, true, a.result]),
    'a retry is not applied twice and returns the first result');
  assert.deepEqual((await dump(replica)).messages.map((m) => m.body), bodies);
}

/** A replica in a new data directory, leading its group of one, with alice and bob registered. */
async function freshReplica(t: TestContext, prefix: string): Promise<{ dir: string; first: { replica: DriverProcess } }> {
  const dir = tempDir(t, prefix);
  const first = await DriverProcess.start(t, dir);
  await first.replica.run({ op: 'elect' });
  await first.replica.run(setup);
  return { dir, first };
}

describe('chat.db loses its unsynced tail', { concurrency: 2 }, () => {
  test('the committed tail is applied again from the log, once', async (t) => {
    const { dir, first } = await freshReplica(t, 'quorum-tail-');
    const early = acks(await first.replica.run(sends(1)));
    await first.replica.exitCleanly();
    const copy = keepChatDb(dir);

    const second = await DriverProcess.start(t, dir);
    await second.replica.run({ op: 'elect' });
    const lost = acks([...await second.replica.run(sends(2)), ...await second.replica.run(sends(3, 4))]);
    assert.equal(lost.length, 3);
    await second.replica.exitCleanly();
    loseTail(dir, copy);

    const { replica, loaded } = await DriverProcess.start(t, dir);
    const lastAcked = Math.max(...lost.map((a) => a.index));
    assert.ok(loaded.applied < lastAcked, `chat.db is back at ${loaded.applied}, before the lost acknowledgements`);
    assert.ok(loaded.lastIndex >= lastAcked, 'raft.db still holds the entries');
    assert.deepEqual(lost.map((a) => a.seq), [2, 3, 4]);
    await appliedAgainOnce(replica, lost, [...early, ...lost], ['msg-1', 'msg-2', 'msg-3', 'msg-4']);
    await replica.exitCleanly();
  });

  test('applies held in the open transaction (the peer commits chat.db 10 ms later) survive a SIGKILL: applied again, once', async (t) => {
    const { dir, first } = await freshReplica(t, 'quorum-open-');
    await first.replica.run({ op: 'hold' });
    const committed = acks(await first.replica.run(sends(1)));
    await first.replica.run({ op: 'commit' });
    const held = acks([...await first.replica.run(sends(2)), ...await first.replica.run(sends(3))]);
    assert.equal(held.length, 2, 'acknowledged before their transaction commits, as the peer answers clients');
    assert.deepEqual((await dump(first.replica)).messages.map((m) => m.body), ['msg-1', 'msg-2', 'msg-3'], 'its own reads see them');
    const other = new Database(join(dir, 'chat.db'), { readonly: true });
    const seen = other.prepare('SELECT body FROM messages ORDER BY id').pluck().all();
    other.close();
    assert.deepEqual(seen, ['msg-1'], 'another connection (a snapshot worker) sees the last commit only');
    await first.replica.expectCrash({ op: 'kill' });

    const { replica, loaded } = await DriverProcess.start(t, dir);
    assert.equal(loaded.applied, committed[0]?.index, 'chat.db is at the last commit');
    await appliedAgainOnce(replica, held, [...committed, ...held], ['msg-1', 'msg-2', 'msg-3']);
    await replica.exitCleanly();
  });

  test('a tail lost after a compaction is applied again from the log, which the compaction kept', async (t) => {
    // Compaction syncs chat.db before it drops the log, so a power cut cannot take chat.db below
    // the compaction point (that case is refused at open: snapshots.test.ts).
    const { dir, first } = await freshReplica(t, 'quorum-tail-');
    const early = acks(await first.replica.run(sends(1, 2)));
    const snapshot = (await first.replica.run({ op: 'snapshot' })).find((l) => 'snapshot' in l)?.snapshot as { index: number };
    await first.replica.exitCleanly();
    const copy = keepChatDb(dir);

    const second = await DriverProcess.start(t, dir);
    await second.replica.run({ op: 'elect' });
    const lost = acks(await second.replica.run(sends(3, 4)));
    await second.replica.exitCleanly();
    loseTail(dir, copy);

    const { replica, loaded } = await DriverProcess.start(t, dir);
    assert.deepEqual([loaded.snapshotIndex, loaded.applied], [snapshot.index, snapshot.index], 'chat.db is back at the compaction point');
    await appliedAgainOnce(replica, lost, [...early, ...lost], ['msg-1', 'msg-2', 'msg-3', 'msg-4']);
    await replica.exitCleanly();
  });
});
