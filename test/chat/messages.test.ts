import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ChatReplica } from '../helpers/chat-replica.js';

async function pair(t: TestContext): Promise<{ r: ChatReplica; alice: number; bob: number }> {
  const r = ChatReplica.open(t);
  return { r, alice: await r.account('alice'), bob: await r.account('bob') };
}

async function send(r: ChatReplica, actor: number, to: number, ...texts: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const text of texts) ids.push((await r.ok({ t: 'sendDirect', actor, to, text })).messageId);
  return ids;
}

function failure(result: { ok: boolean; code?: string }): string | undefined {
  return result.ok ? undefined : result.code;
}

describe('send direct message', () => {
  test('is stored unread for the recipient, with the sender\'s timestamp', async (t) => {
    const { r, alice, bob } = await pair(t);
    const command = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'hello bob' });
    const [applied] = r.applyCommands([command]);
    assert.ok(applied?.result.ok);
    const [message] = r.queries.conversation(bob, alice).items;
    assert.deepEqual(message && { ...message, id: 0 }, {
      id: 0, senderId: alice, senderName: 'alice', recipientId: bob, channelId: null,
      text: 'hello bob', sentAt: command.at, unread: true,
    });
  });

  test('message ids grow in log order and are never reused after a delete', async (t) => {
    const { r, alice, bob } = await pair(t);
    const [a, b] = await send(r, alice, bob, 'one', 'two');
    await r.ok({ t: 'deleteMessages', actor: alice, ids: [b as number] });
    const [c] = await send(r, alice, bob, 'three');
    assert.ok((a as number) < (b as number) && (b as number) < (c as number));
  });

  test('accepts 1 and 16,000 characters (code points), refuses 0 and 16,001', async (t) => {
    const { r, alice, bob } = await pair(t);
    await send(r, alice, bob, 'x', 'x'.repeat(16_000), '😀'.repeat(16_000));
    await assert.rejects(r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: '' }), { code: 'invalid-message' });
    await assert.rejects(r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'x'.repeat(16_001) }), { code: 'invalid-message' });
    await assert.rejects(r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: '😀'.repeat(16_001) }), { code: 'invalid-message' });
    assert.equal(r.queries.conversation(alice, bob).items.length, 3);
  });

  test('apply refuses an over-long text too', async (t) => {
    const { r, alice, bob } = await pair(t);
    const command = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'ok' });
    const [applied] = r.applyCommands([ChatReplica.tamper(command, { text: 'y'.repeat(16_001) })]);
    assert.equal(applied && failure(applied.result), 'invalid-message');
    assert.equal(r.queries.conversation(alice, bob).items.length, 0);
  });

  test('the recipient must exist; so must the sender; nobody writes to themselves', async (t) => {
    const { r, alice, bob } = await pair(t);
    assert.equal(failure(await r.run({ t: 'sendDirect', actor: alice, to: 99, text: 'hi' })), 'unknown-recipient');
    assert.equal(failure(await r.run({ t: 'sendDirect', actor: 99, to: bob, text: 'hi' })), 'unknown-account');
    await assert.rejects(r.prepare({ t: 'sendDirect', actor: alice, to: alice, text: 'hi' }), { code: 'invalid-argument' });
    const toBob = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'hi' });
    const [toSelf] = r.applyCommands([ChatReplica.tamper(toBob, { to: alice })]);
    assert.equal(toSelf && failure(toSelf.result), 'invalid-argument', 'apply checks it again');
    assert.equal(r.db.prepare('SELECT count(*) FROM messages').pluck().get(), 0);
  });
});

describe('conversation history', () => {
  test('pages go from newest to oldest, each in chronological order', async (t) => {
    const { r, alice, bob } = await pair(t);
    const ids = [...await send(r, alice, bob, 'a1', 'a2'), ...await send(r, bob, alice, 'b1'), ...await send(r, alice, bob, 'a3', 'a4')];
    const first = r.queries.conversation(alice, bob, { limit: 2 });
    assert.deepEqual(first.items.map((m) => m.text), ['a3', 'a4']);
    const second = r.queries.conversation(bob, alice, { limit: 2, cursor: first.next });
    assert.deepEqual(second.items.map((m) => m.text), ['a2', 'b1']);
    const third = r.queries.conversation(alice, bob, { limit: 2, cursor: second.next });
    assert.deepEqual([third.items.map((m) => m.id), third.next], [[ids[0]], null]);
  });

  test('keeps conversations apart', async (t) => {
    const { r, alice, bob } = await pair(t);
    const carol = await r.account('carol');
    await send(r, alice, bob, 'to bob');
    await send(r, alice, carol, 'to carol');
    assert.deepEqual(r.queries.conversation(alice, carol).items.map((m) => m.text), ['to carol']);
  });

  test('refuses a cursor that is not one', async (t) => {
    const { r, alice, bob } = await pair(t);
    assert.throws(() => r.queries.conversation(alice, bob, { cursor: 'abc' }), { code: 'invalid-argument' });
    assert.throws(() => r.queries.conversation(alice, bob, { cursor: '-1' }), { code: 'invalid-argument' });
  });
});

describe('unread messages', () => {
  test('are counted per conversation and in total', async (t) => {
    const { r, alice, bob } = await pair(t);
    const carol = await r.account('carol');
    await send(r, bob, alice, 'b1', 'b2');
    await send(r, carol, alice, 'c1');
    await send(r, alice, bob, 'not for alice');
    assert.deepEqual(r.queries.unread(alice), {
      total: 3,
      conversations: [{ peerId: bob, peerName: 'bob', unread: 2 }, { peerId: carol, peerName: 'carol', unread: 1 }],
    });
  });

  test('reading the next N and marking them read leaves the rest unread', async (t) => {
    const { r, alice, bob } = await pair(t);
    const carol = await r.account('carol');
    await send(r, bob, alice, 'b1');
    await send(r, carol, alice, 'c1');
    await send(r, bob, alice, 'b2');
    const next = r.queries.nextUnread(alice, 2);
    assert.deepEqual(next.messages.map((m) => m.text), ['b1', 'c1']);
    assert.deepEqual(await r.ok({ t: 'markRead', actor: alice, upTo: next.upTo as number }), { marked: 2, senders: [bob, carol] });
    assert.deepEqual(r.queries.nextUnread(alice, 10).messages.map((m) => m.text), ['b2']);
    assert.equal(r.queries.unread(alice).total, 1);
  });

  test('can be read and marked per conversation', async (t) => {
    const { r, alice, bob } = await pair(t);
    const carol = await r.account('carol');
    await send(r, bob, alice, 'b1', 'b2');
    await send(r, carol, alice, 'c1');
    const next = r.queries.nextUnread(alice, 5, carol);
    assert.deepEqual(next.messages.map((m) => m.text), ['c1']);
    await r.ok({ t: 'markRead', actor: alice, peer: carol, upTo: next.upTo as number });
    assert.deepEqual(r.queries.unread(alice).conversations, [{ peerId: bob, peerName: 'bob', unread: 2 }]);
  });

  test('marking read up to an id affects only that reader\'s older messages', async (t) => {
    const { r, alice, bob } = await pair(t);
    const [b1, , b3] = await send(r, bob, alice, 'b1', 'b2', 'b3');
    await send(r, alice, bob, 'a1');
    assert.deepEqual(await r.ok({ t: 'markRead', actor: alice, peer: bob, upTo: (b3 as number) - 1 }), { marked: 2, senders: [bob] });
    assert.deepEqual(r.queries.conversation(alice, bob).items.map((m) => [m.text, m.unread]), [['b1', false], ['b2', false], ['b3', true], ['a1', true]]);
    assert.deepEqual(await r.ok({ t: 'markRead', actor: alice, peer: bob, upTo: b1 as number }), { marked: 0, senders: [] });
  });

  test('no unread messages: an empty page and no upTo', async (t) => {
    const { r, alice } = await pair(t);
    assert.deepEqual(r.queries.nextUnread(alice, 3), { messages: [], upTo: null });
  });

  test('mark read refuses unknown message ids and unknown peers', async (t) => {
    const { r, alice, bob } = await pair(t);
    const [id] = await send(r, bob, alice, 'b1');
    assert.equal(failure(await r.run({ t: 'markRead', actor: alice, upTo: (id as number) + 1 })), 'unknown-message');
    assert.equal(failure(await r.run({ t: 'markRead', actor: alice, peer: 77, upTo: id as number })), 'unknown-account');
    assert.equal(r.queries.unread(alice).total, 1);
  });
});

describe('delete messages', () => {
  test('the sender deletes one or many of their messages', async (t) => {
    const { r, alice, bob } = await pair(t);
    const [m1, m2, m3] = await send(r, alice, bob, 'one', 'two', 'three');
    assert.deepEqual(await r.ok({ t: 'deleteMessages', actor: alice, ids: [m1 as number] }), { deleted: 1, direct: [{ to: bob, ids: [m1] }], posts: [] });
    assert.deepEqual(await r.ok({ t: 'deleteMessages', actor: alice, ids: [m3 as number, m2 as number] }), { deleted: 2, direct: [{ to: bob, ids: [m3, m2] }], posts: [] });
    assert.deepEqual(r.queries.conversation(alice, bob).items, []);
  });

  test('the result tells where the deleted messages were: per recipient and per channel', async (t) => {
    const { r, alice, bob } = await pair(t);
    const carol = await r.account('carol');
    const [toBob] = await send(r, alice, bob, 'b');
    const [toCarol] = await send(r, alice, carol, 'c');
    const { messageId: post } = await r.ok({ t: 'postChannel', actor: alice, channel: 1, text: 'all' });
    const ids = [toCarol as number, post, toBob as number];
    assert.deepEqual(await r.ok({ t: 'deleteMessages', actor: alice, ids }), {
      deleted: 3, direct: [{ to: carol, ids: [toCarol] }, { to: bob, ids: [toBob] }], posts: [{ channel: 1, ids: [post] }],
    });
  });

  test('alice cannot delete bob\'s message, even in a batch with her own', async (t) => {
    const { r, alice, bob } = await pair(t);
    const [mine] = await send(r, alice, bob, 'mine');
    const [his] = await send(r, bob, alice, 'his');
    const result = await r.run({ t: 'deleteMessages', actor: alice, ids: [mine as number, his as number] });
    assert.equal(failure(result), 'forbidden');
    assert.equal(r.queries.conversation(alice, bob).items.length, 2);
  });

  test('unknown and repeated ids are refused and nothing is deleted', async (t) => {
    const { r, alice, bob } = await pair(t);
    const [mine] = await send(r, alice, bob, 'mine');
    assert.equal(failure(await r.run({ t: 'deleteMessages', actor: alice, ids: [mine as number, 1234] })), 'unknown-message');
    assert.equal(failure(await r.run({ t: 'deleteMessages', actor: alice, ids: [mine as number, mine as number] })), 'invalid-argument');
    assert.equal(r.queries.conversation(alice, bob).items.length, 1);
  });

  test('an empty list is malformed', async (t) => {
    const { r, alice } = await pair(t);
    await assert.rejects(r.prepare({ t: 'deleteMessages', actor: alice, ids: [] }), { code: 'malformed-command' });
  });
});
