// SIGKILL while compacting the log and while installing a snapshot received from a leader: the
// restart finds either the old or the new state, whole, and goes on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SnapshotMeta } from '../../main/raft/types.js';
import type { CrashPoint } from '../../main/storage/crash.js';
import { tempDir } from '../helpers/temp-dir.js';
import type { Line } from '../helpers/json-child.js';
import { DriverProcess, acks, crashWhileCompacting, crashWhileInstalling, donor, dump, propose, sends, setup } from './crash-harness.js';

describe('a crash while compacting the log', { concurrency: 2 }, () => {
  const points: [CrashPoint, boolean][] = [['compact:before', false], ['compact:synced', false], ['compact:after', true]];
  for (const [point, recorded] of points) {
    test(`at ${point}: the log and state are whole, the compaction ${recorded ? 'is' : 'is not'} recorded`, async (t) => {
      const dir = tempDir(t, 'quorum-crash-');
      const { acked, before } = await crashWhileCompacting(t, dir, point);

      const { replica, loaded } = await DriverProcess.start(t, dir);
      const applied = before.status.applied;
      assert.deepEqual([loaded.snapshotIndex, loaded.snapshotFiles], [recorded ? applied : 0, []]);
      assert.deepEqual([loaded.applied, loaded.lastIndex], [applied, applied]);
      assert.equal((await dump(replica)).hash, before.hash);
      await replica.run({ op: 'elect' });
      const retried = acks(await replica.run(sends(1, 2, 3)));
      assert.deepEqual(retried.map((a) => [a.duplicate, a.result]), [...acked.map((a) => [true, a.result]), [false, retried[2]?.result]]);
      assert.deepEqual(retried.map((a) => a.index), [applied + 2, applied + 3, applied + 4], 'the log goes on: the new leader\'s no-op, then the batch');
      assert.deepEqual((await dump(replica)).messages.map((m) => m.body), ['msg-1', 'msg-2', 'msg-3']);
    });
  }
});

describe('a crash while installing a snapshot', { concurrency: 2 }, () => {
  const points: [CrashPoint, boolean][] = [['snapshot-install:before', false], ['snapshot-install:recorded', true], ['snapshot-install:after', true]];
  for (const [point, installed] of points) {
    test(`at ${point}: the restart holds the ${installed ? 'snapshot' : 'old state'}, whole`, async (t) => {
      const leader = await donor(t);
      const dir = tempDir(t, 'quorum-crash-');
      const { before } = await crashWhileInstalling(t, dir, point, leader);

      const { replica, loaded } = await DriverProcess.start(t, dir);
      const after = await dump(replica);
      assert.equal(after.hash, installed ? leader.hash : before.hash);
      assert.deepEqual([loaded.applied, loaded.snapshotIndex, loaded.snapshotFiles],
        installed ? [500, 500, []] : [before.status.applied, 0, []]);
      await replica.run({ op: 'elect' });
      const [ack] = acks(await replica.run(propose('later', [{ t: 'sendDirect', actor: 1, to: 2, text: 'after the restart' }])));
      assert.deepEqual([ack?.result.ok, ack?.duplicate], [true, false]);
      assert.equal(ack?.index, (installed ? 500 : before.status.lastIndex) + 2, 'the log goes on from the right index');
    });
  }

  test('without a crash, the installed state is the leader\'s and survives a clean restart', async (t) => {
    const leader = await donor(t);
    const dir = tempDir(t, 'quorum-crash-');
    const first = await DriverProcess.start(t, dir);
    await first.replica.run({ op: 'elect' });
    await first.replica.run({ op: 'install', file: leader.file, meta: leader.meta, term: 5 });
    assert.equal((await dump(first.replica)).hash, leader.hash);
    await first.replica.exitCleanly();
    const { replica, loaded } = await DriverProcess.start(t, dir);
    assert.deepEqual([loaded.term, loaded.commit, loaded.applied], [5, 500, 500]);
    assert.equal((await dump(replica)).hash, leader.hash);
  });
});

describe('automatic snapshots', () => {
  test('every N applied entries the log is compacted, and a restart (even a crash) loses nothing', async (t) => {
    const dir = tempDir(t, 'quorum-crash-');
    const first = await DriverProcess.start(t, dir, { snapshotEvery: 10 });
    await first.replica.run({ op: 'elect' });
    await first.replica.run(setup);
    let printed: Line[] = [];
    for (let seq = 1; seq <= 25; seq += 3) printed = [...printed, ...await first.replica.run(sends(seq, seq + 1, seq + 2))];
    const taken = printed.flatMap((l) => ('snapshot' in l ? [(l.snapshot as SnapshotMeta).index] : []));
    assert.ok(taken.length >= 2, `snapshots at ${taken.join(', ')}`);
    assert.ok(taken.every((index, i) => i === 0 || index - (taken[i - 1] as number) >= 10), 'not more often than asked');
    const before = await dump(first.replica);
    assert.equal(before.status.snapshotIndex, taken[taken.length - 1]);
    assert.ok(before.status.lastIndex - before.status.snapshotIndex < 10, 'the core keeps only the tail');
    await first.replica.crashDuring('append:before', sends(100));

    const { replica, loaded } = await DriverProcess.start(t, dir, { snapshotEvery: 10 });
    assert.deepEqual([loaded.snapshotIndex, loaded.applied], [before.status.snapshotIndex, before.status.applied]);
    assert.equal((await dump(replica)).hash, before.hash);
  });
});
