// The crash points of crash-write-path and crash-snapshot again, each followed by a power cut:
// the replica's data directory is on a FUSE disk that keeps only what was synced
// (test/helpers/power-cut.ts), so everything chat.db held only in the page cache is gone too,
// and whatever else was written and not synced. The restart must still hold every acknowledged
// command once, honour every vote it sent, and hold either the old state or the new one, whole.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { CrashPoint } from '../../main/storage/crash.js';
import { PowerCutDisk, powerCutSeed, powerCutUnavailable } from '../helpers/power-cut.js';
import { DriverProcess, acks, crashWhileCompacting, crashWhileInstalling, donor, dump, propose, sends, setup, type Ack } from './crash-harness.js';

/** A data directory on a disk that can lose its power; unmounted and removed after the test. */
async function powerCutDir(t: TestContext, keepUnsynced = 0): Promise<{ dir: string; cut: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'quorum-power-cut-'));
  const dir = join(root, 'data');
  let disk = await PowerCutDisk.mount(join(root, 'disk'), dir, { keepUnsynced });
  t.after(async () => {
    await disk.unmount();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    dir,
    /** Call once the replica is dead: the power goes, and comes back. */
    cut: async () => {
      const report = await disk.cut();
      t.diagnostic(`power cut after ${report.syncs} syncs: ${report.unsyncedPages} unsynced pages lost, ` +
        `${report.keptPages} kept (QUORUM_POWER_CUT_SEED=${powerCutSeed})`);
      disk = await PowerCutDisk.mount(disk.backing, dir, { keepUnsynced });
    },
  };
}

/**
 * Whether the batch being written at the crash point was on disk when the power went: only once
 * synced (append:after is written but not synced: a SIGKILL there keeps the batch, a power cut not).
 */
const writePoints: [CrashPoint, boolean][] = [
  ['append:before', false],
  ['save:torn', false],
  ['append:after', false],
  ['save:synced', true],
  ['apply:before', true],
  ['apply:torn', true],
  ['apply:after', true],
];

/** Retries `acked` and more: the acknowledged ones return their first results; returns the rest's acks. */
async function retryAll(replica: DriverProcess, acked: readonly Ack[], seqs: number[]): Promise<Ack[]> {
  const retried = acks(await replica.run(sends(...seqs)));
  const first = retried.slice(0, acked.length);
  assert.deepEqual(first.map((a) => [a.duplicate, a.result]), acked.map((a) => [true, a.result]), 'an acknowledged send is kept, with its first result');
  return retried.slice(acked.length);
}

describe('a crash, then a power cut', { skip: powerCutUnavailable() ?? false, concurrency: 2 }, () => {
  for (const [point, durable] of writePoints) {
    for (const keepUnsynced of [0, 0.5]) {
      test(`while proposing and applying, at ${point} (unsynced pages kept: ${keepUnsynced}): acknowledged messages stay, retries apply once`, async (t) => {
        const { dir, cut } = await powerCutDir(t, keepUnsynced);
        const first = await DriverProcess.start(t, dir);
        await first.replica.run({ op: 'elect' });
        await first.replica.run(setup);
        const acked = acks([...await first.replica.run(sends(1)), ...await first.replica.run(sends(2))]);
        await first.replica.crashDuring(point, sends(3, 4));
        await cut();

        const { replica, loaded } = await DriverProcess.start(t, dir);
        const lastAcked = Math.max(...acked.map((a) => a.index));
        assert.ok(loaded.lastIndex >= lastAcked, `the log holds acknowledged index ${lastAcked} (last index ${loaded.lastIndex})`);
        await replica.run({ op: 'elect' });
        assert.deepEqual(acks(await replica.run(setup)).map((a) => a.duplicate), [true, true]);
        const rest = await retryAll(replica, acked, [1, 2, 3, 4]);
        // Synced: there. Not synced: gone, unless the disk happened to write its pages back
        // (keepUnsynced); one transaction either way, so both messages or neither.
        const kept = rest.map((a) => a.duplicate);
        const allowed = durable ? [[true, true]] : keepUnsynced === 0 ? [[false, false]] : [[false, false], [true, true]];
        assert.ok(allowed.some((a) => a[0] === kept[0] && a[1] === kept[1]), `the batch of the crash: ${JSON.stringify(kept)}`);
        assert.deepEqual((await dump(replica)).messages.map((m) => m.body), ['msg-1', 'msg-2', 'msg-3', 'msg-4']);
        await replica.exitCleanly();
      });
    }
  }

  for (const point of ['hardstate:before', 'hardstate:after', 'save:synced'] as const) {
    test(`while granting a vote, at ${point}: no second vote in the same term`, async (t) => {
      const { dir, cut } = await powerCutDir(t);
      const first = await DriverProcess.start(t, dir);
      const term = ((await first.replica.run({ op: 'elect' })).find((l) => 'elected' in l)?.elected as { term: number }).term;
      await first.replica.crashDuring(point, { op: 'vote', term: term + 1, from: 'cand-a' });
      await cut();

      const { replica, loaded } = await DriverProcess.start(t, dir);
      const persisted = point === 'save:synced'; // hardstate:after: written, not synced, not sent
      assert.deepEqual([loaded.term, loaded.vote], persisted ? [term + 1, 'cand-a'] : [term, 'n1']);
      const granted = async (from: string) => (await replica.run({ op: 'vote', term: term + 1, from }))
        .flatMap((l) => ('vote' in l ? [(l.vote as { granted: boolean }).granted] : []));
      assert.deepEqual(await granted('cand-b'), [!persisted]);
    });
  }

  for (const [point, recorded] of [['compact:before', false], ['compact:synced', false], ['compact:after', true]] as const) {
    test(`while compacting the log, at ${point}: the state comes back whole, the compaction ${recorded ? 'recorded' : 'not recorded'}`, async (t) => {
      const { dir, cut } = await powerCutDir(t);
      const { acked, before } = await crashWhileCompacting(t, dir, point);
      await cut();

      const { replica, loaded } = await DriverProcess.start(t, dir);
      assert.deepEqual([loaded.snapshotIndex, loaded.lastIndex], [recorded ? before.status.applied : 0, before.status.applied]);
      await replica.run({ op: 'elect' });
      const rest = await retryAll(replica, acked, [1, 2, 3]);
      assert.deepEqual(rest.map((a) => a.duplicate), [false]);
      assert.deepEqual((await dump(replica)).messages.map((m) => m.body), ['msg-1', 'msg-2', 'msg-3']);
    });
  }

  for (const [point, installed] of [['snapshot-install:before', false], ['snapshot-install:recorded', true], ['snapshot-install:after', true]] as const) {
    test(`while installing a snapshot, at ${point}: the ${installed ? 'snapshot' : 'old state'} comes back, whole`, async (t) => {
      const leader = await donor(t);
      const { dir, cut } = await powerCutDir(t);
      const { before } = await crashWhileInstalling(t, dir, point, leader);
      await cut();

      const { replica, loaded } = await DriverProcess.start(t, dir);
      assert.deepEqual([loaded.snapshotIndex, loaded.snapshotFiles], [installed ? 500 : 0, []]);
      await replica.run({ op: 'elect' });
      const [ack] = acks(await replica.run(propose('later', [{ t: 'sendDirect', actor: 1, to: 2, text: 'after the restart' }])));
      assert.deepEqual([ack?.result.ok, ack?.duplicate], [true, false]);
      assert.equal(ack?.index, (installed ? 500 : before.status.lastIndex) + 2, 'the log goes on from the right index');
      assert.deepEqual((await dump(replica)).messages.map((m) => m.body), [installed ? 'from the leader' : 'msg-1', 'after the restart']);
    });
  }
});
