// SIGKILL at every persistence point of the write path (log append, hard state, apply), then a
// restart and the client's retries: everything acknowledged is there, nothing is applied twice.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CrashPoint } from '../../main/storage/crash.js';
import { tempDir } from '../helpers/temp-dir.js';
import { DriverProcess, acks, dump, sends, setup } from './crash-harness.js';

/**
 * Whether the entry being written when the process died is in the log after the restart. (The
 * hard state is written only when term or vote change, not with appends: its points are
 * crashed at below, while a vote is granted.)
 */
const writePoints: [CrashPoint, boolean][] = [
  ['append:before', false],
  ['save:torn', false],
  ['append:after', true],
  ['save:synced', true],
  ['apply:before', true],
  ['apply:torn', true],
  ['apply:after', true],
];

describe('a crash while proposing and applying', { concurrency: 2 }, () => {
  for (const [point, durable] of writePoints) {
    test(`at ${point}: acknowledged messages stay, retries apply once`, async (t) => {
      const dir = tempDir(t, 'quorum-crash-');
      const first = await DriverProcess.start(t, dir);
      await first.replica.run({ op: 'elect' });
      await first.replica.run(setup);
      const acked = acks([...await first.replica.run(sends(1)), ...await first.replica.run(sends(2))]);
      assert.equal(acked.length, 2);
      const printed = await first.replica.crashDuring(point, sends(3, 4));
      assert.deepEqual(acks(printed), [], 'nothing acknowledged from the batch that crashed');

      const { replica, loaded } = await DriverProcess.start(t, dir);
      const lastAcked = Math.max(...acked.map((a) => a.index));
      assert.ok(loaded.commit >= lastAcked && loaded.lastIndex >= lastAcked, `log and commit hold acknowledged index ${lastAcked}`);
      const reapplied = acks(await replica.run({ op: 'elect' }));
      assert.deepEqual(reapplied.map((a) => [a.seq, a.duplicate]), durable && loaded.applied < loaded.lastIndex ? [[3, false], [4, false]] : [],
        'the durable tail is committed and applied after the restart, for the first time');
      assert.ok(reapplied.every((a) => a.index > loaded.applied));
      assert.deepEqual(acks(await replica.run(setup)).map((a) => a.duplicate), [true, true]);
      const retried = acks(await replica.run(sends(1, 2, 3, 4)));
      assert.deepEqual(retried.map((a) => a.duplicate), [true, true, durable, durable]);
      assert.deepEqual(retried.slice(0, 2).map((a) => a.result), acked.map((a) => a.result), 'a retry returns the first result');
      const { messages } = await dump(replica);
      assert.deepEqual(messages.map((m) => m.body), ['msg-1', 'msg-2', 'msg-3', 'msg-4']);
      await replica.exitCleanly();
    });
  }
});

describe('a crash while granting a vote', { concurrency: 2 }, () => {
  for (const point of ['hardstate:before', 'hardstate:after', 'save:synced'] as const) {
    test(`at ${point}: no second vote in the same term`, async (t) => {
      const dir = tempDir(t, 'quorum-crash-');
      const first = await DriverProcess.start(t, dir);
      const term = ((await first.replica.run({ op: 'elect' })).find((l) => 'elected' in l)?.elected as { term: number }).term;
      const printed = await first.replica.crashDuring(point, { op: 'vote', term: term + 1, from: 'cand-a' });
      assert.deepEqual(printed.filter((l) => 'vote' in l), [], 'the vote was not sent before it was durable');

      const { replica, loaded } = await DriverProcess.start(t, dir);
      const persisted = point !== 'hardstate:before';
      assert.deepEqual([loaded.term, loaded.vote], persisted ? [term + 1, 'cand-a'] : [term, 'n1']);
      const votes = async (from: string) => (await replica.run({ op: 'vote', term: term + 1, from }))
        .flatMap((l) => ('vote' in l ? [(l.vote as { granted: boolean }).granted] : []));
      assert.deepEqual(await votes('cand-b'), [!persisted], persisted ? 'cand-a already has this term\'s vote' : 'no vote was cast');
      assert.deepEqual(await votes('cand-a'), [persisted], persisted ? 'the same candidate may ask again' : 'cand-b has it now');
    });
  }

  test('without a crash, the second candidate of a term is refused', async (t) => {
    const { replica } = await DriverProcess.start(t, tempDir(t, 'quorum-crash-'));
    const granted = async (from: string) => (await replica.run({ op: 'vote', term: 7, from })).some((l) => (l.vote as { granted?: boolean } | undefined)?.granted === true);
    assert.deepEqual([await granted('cand-a'), await granted('cand-b')], [true, false]);
  });
});

describe('the crash hook', () => {
  test('QUORUM_CHAT_CRASH_AT=name#n kills the process at the n-th hit', async (t) => {
    const dir = tempDir(t, 'quorum-crash-');
    const { replica } = await DriverProcess.start(t, dir, { env: { QUORUM_CHAT_CRASH_AT: 'apply:after#3' } });
    await replica.run({ op: 'elect' }); // hit 1: the leader's no-op
    await replica.run(setup); // hit 2: both accounts, one batch
    const applied = (await dump(replica)).status.applied;
    assert.deepEqual(acks(await replica.expectCrash(sends(1))), []);
    const { loaded } = await DriverProcess.start(t, dir);
    assert.equal(loaded.applied, applied + 1, 'it died right after applying the third batch');
  });
});
