import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { ChatApiError, type SendResult } from '../../common/chat-api.js';
import { Outbox, OutboxSender, isTransient, type OutboxItem } from '../../renderer/src/logic/outbox.js';
import { MemoryStorage } from '../../renderer/src/logic/storage.js';

const ok = (messageId: number, duplicate = false): SendResult => ({ messageId, appliedIndex: messageId * 10, duplicate });

test('request ids: random persisted client id, seq 1, 2, 3 across restarts', () => {
  const storage = new MemoryStorage();
  let n = 0;
  const a = new Outbox(storage, 'alice', () => `client-${++n}`);
  const i1 = a.add({ kind: 'direct', to: 'bob' }, 'one', 1);
  const i2 = a.add({ kind: 'channel', channel: 'general' }, 'two', 2);
  assert.deepEqual(i1.request, { clientId: 'client-1', seq: 1 });
  assert.deepEqual(i2.request, { clientId: 'client-1', seq: 2 });
  // A restart: a new Outbox over the same storage keeps the items and the counter.
  const b = new Outbox(storage, 'alice', () => `client-${++n}`);
  assert.deepEqual(b.items().map((i) => i.text), ['one', 'two']);
  assert.deepEqual(b.add({ kind: 'direct', to: 'bob' }, 'three', 3).request, { clientId: 'client-1', seq: 3 });
  // Another user has their own client id and counter.
  assert.deepEqual(new Outbox(storage, 'carol', () => 'c').add({ kind: 'direct', to: 'bob' }, 'x', 4).request, { clientId: 'c', seq: 1 });
});

test('transient and permanent errors', () => {
  for (const code of ['no-quorum', 'timeout', 'unavailable'] as const) assert.equal(isTransient(new ChatApiError(code, code)), true);
  for (const code of ['no-such-user', 'invalid-message', 'forbidden', 'not-logged-in', 'request-expired'] as const) {
    assert.equal(isTransient(new ChatApiError(code, code)), false);
  }
  assert.equal(isTransient(new Error('socket closed')), true);
  assert.equal(isTransient({ code: 'no-quorum', message: 'rebuilt from JSON' }), true);
});

test('sends in order, retrying with the same request id, exactly once per message', async () => {
  const storage = new MemoryStorage();
  const outbox = new Outbox(storage, 'alice', () => 'cid');
  outbox.add({ kind: 'direct', to: 'bob' }, 'first', 1);
  outbox.add({ kind: 'direct', to: 'bob' }, 'second', 2);
  const calls: string[] = [];
  const failures: Error[] = [new ChatApiError('no-quorum', 'no quorum: 2 of 5'), new ChatApiError('unavailable', 'down'), new ChatApiError('timeout', 'slow')];
  const sent: [string, number][] = [];
  const delays: number[] = [];
  const sender = new OutboxSender({
    outbox,
    send: async (item) => {
      calls.push(`${item.request.clientId}:${item.request.seq}`);
      const f = failures.shift();
      if (f) throw f;
      // The second attempt of seq 1 found it applied already: a duplicate reply is success.
      return ok(item.request.seq, item.request.seq === 1);
    },
    onSent: (item, r) => sent.push([item.text, r.messageId]),
    sleep: async (ms) => { delays.push(ms); if (outbox.items().length === 0) void sender.stop(); },
    idlePollMs: 5,
  });
  await sender.start();
  assert.deepEqual(calls, ['cid:1', 'cid:1', 'cid:1', 'cid:1', 'cid:2']);
  assert.deepEqual(sent, [['first', 1], ['second', 2]]);
  assert.deepEqual(delays.slice(0, 3), [250, 500, 1000]);
  assert.equal(outbox.items().length, 0);
});

test('a permanent error marks the item failed and the next one goes on', async () => {
  const outbox = new Outbox(new MemoryStorage(), 'alice', () => 'cid');
  outbox.add({ kind: 'direct', to: 'nobody' }, 'lost', 1);
  outbox.add({ kind: 'direct', to: 'bob' }, 'fine', 2);
  const failed: OutboxItem[] = [];
  const sender = new OutboxSender({
    outbox,
    send: async (item) => {
      if (item.target.kind === 'direct' && item.target.to === 'nobody') throw new ChatApiError('no-such-user', 'no such user: nobody');
      return ok(7);
    },
    onFailed: (item) => failed.push(item),
  });
  assert.equal(await sender.step(), 'failed');
  assert.equal(await sender.step(), 'sent');
  assert.equal(await sender.step(), 'idle');
  const items = outbox.items();
  assert.equal(items.length, 1);
  assert.equal(items[0]?.state, 'failed');
  assert.equal(items[0]?.error?.code, 'no-such-user');
  assert.equal(failed.length, 1);
  outbox.remove(items[0]!.key);
  assert.equal(outbox.items().length, 0);
});

test('a transient failure keeps the item pending with its attempts and last error', async () => {
  const outbox = new Outbox(new MemoryStorage(), 'alice', () => 'cid');
  outbox.add({ kind: 'direct', to: 'bob' }, 'hi', 1);
  const sender = new OutboxSender({ outbox, send: async () => { throw new ChatApiError('no-quorum', 'no quorum'); } });
  assert.equal(await sender.step(), 'retry');
  assert.equal(await sender.step(), 'retry');
  const [item] = outbox.items();
  assert.equal(item?.state, 'pending');
  assert.equal(item?.attempts, 2);
  assert.equal(item?.error?.code, 'no-quorum');
  assert.deepEqual(item?.request, { clientId: 'cid', seq: 1 });
});

test('kick wakes an idle sender', async () => {
  const outbox = new Outbox(new MemoryStorage(), 'alice', () => 'cid');
  const sent: string[] = [];
  const sender = new OutboxSender({ outbox, send: async (i) => { sent.push(i.text); return ok(1); }, idlePollMs: 60_000 });
  // The sender is idle once it has looked for work and found none.
  let looked = 0;
  const nextPending = outbox.nextPending.bind(outbox);
  outbox.nextPending = () => { looked += 1; return nextPending(); };
  const done = sender.start();
  await waitFor(() => looked > 0, 'the sender to look for work');
  outbox.add({ kind: 'direct', to: 'bob' }, 'late', 1);
  sender.kick();
  // The idle poll is a minute away: only the kick can have sent it within the wait.
  await waitFor(() => sent.length > 0, 'the kicked sender to send', { timeoutMs: 10_000 });
  assert.deepEqual(sent, ['late']);
  await sender.stop();
  await done;
});

test('an expired session: an item on its first try goes again under a new client id; a retried one fails', async () => {
  let n = 0;
  const outbox = new Outbox(new MemoryStorage(), 'alice', () => `cid-${++n}`);
  outbox.add({ kind: 'direct', to: 'bob' }, 'retried', 1);
  outbox.add({ kind: 'direct', to: 'bob' }, 'first try', 2);
  const expired = new ChatApiError('request-expired', 'client cid-1 has no session here');
  const sends: string[] = [];
  const replies: (ChatApiError | SendResult)[] = [new ChatApiError('unavailable', 'down'), expired, expired, ok(9)];
  const sender = new OutboxSender({
    outbox,
    send: async (item) => {
      sends.push(`${item.text} ${item.request.clientId}:${item.request.seq}`);
      const reply = replies.shift() as ChatApiError | SendResult;
      if (reply instanceof ChatApiError) throw reply;
      return reply;
    },
  });
  assert.equal(await sender.step(), 'retry'); // 'retried' may have been applied before its reply was lost
  assert.equal(await sender.step(), 'failed'); // so an expired session cannot tell: failed, not sent again
  assert.equal(await sender.step(), 'retry'); // 'first try' was never applied: renewed
  assert.equal(await sender.step(), 'sent');
  assert.deepEqual(sends, ['retried cid-1:1', 'retried cid-1:1', 'first try cid-1:2', 'first try cid-2:1']);
  assert.deepEqual(outbox.items().map((i) => [i.text, i.state, i.error?.code]), [['retried', 'failed', 'request-expired']]);
  assert.deepEqual(outbox.add({ kind: 'direct', to: 'bob' }, 'later', 3).request, { clientId: 'cid-2', seq: 2 }, 'later items use the new id');
});
