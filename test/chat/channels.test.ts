import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatReplica } from '../helpers/chat-replica.js';

const failure = (result: { ok: boolean; code?: string }) => (result.ok ? undefined : result.code);

describe('channels', () => {
  test('#general exists from the start and every new account is in it', async (t) => {
    const r = ChatReplica.open(t);
    assert.deepEqual(r.queries.channels().items.map((c) => [c.id, c.name, c.members]), [[1, 'general', 0]]);
    const alice = await r.account('alice');
    assert.deepEqual(r.queries.channelsOf(alice).map((c) => c.name), ['general']);
  });

  test('create: the creator joins; names are unique regardless of case; "#" is not part of the name', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const { channelId } = await r.ok({ t: 'createChannel', actor: alice, name: '#Random' });
    assert.deepEqual(r.queries.channelByName('#random'), { id: channelId, name: 'Random', createdBy: alice, createdAt: r.queries.channelByName('random')?.createdAt, members: 1 });
    assert.equal(failure(await r.run({ t: 'createChannel', actor: alice, name: 'RANDOM' })), 'channel-exists');
    assert.equal(failure(await r.run({ t: 'createChannel', actor: alice, name: 'General' })), 'channel-exists');
  });

  test('create refuses bad names and unknown creators', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    await assert.rejects(r.prepare({ t: 'createChannel', actor: alice, name: 'has space' }), { code: 'invalid-channel-name' });
    await assert.rejects(r.prepare({ t: 'createChannel', actor: alice, name: '' }), { code: 'invalid-channel-name' });
    assert.equal(failure(await r.run({ t: 'createChannel', actor: 42, name: 'x' })), 'unknown-account');
    assert.equal(r.queries.channels().items.length, 1);
  });

  test('join, post, leave; posting needs membership', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    const { channelId } = await r.ok({ t: 'createChannel', actor: alice, name: 'dev' });
    assert.equal(failure(await r.run({ t: 'postChannel', actor: bob, channel: channelId, text: 'hi' })), 'not-member');
    await r.ok({ t: 'joinChannel', actor: bob, channel: channelId });
    assert.equal(failure(await r.run({ t: 'joinChannel', actor: bob, channel: channelId })), 'already-member');
    await r.ok({ t: 'postChannel', actor: bob, channel: channelId, text: 'hi all' });
    await r.ok({ t: 'leaveChannel', actor: bob, channel: channelId });
    assert.equal(failure(await r.run({ t: 'leaveChannel', actor: bob, channel: channelId })), 'not-member');
    assert.equal(failure(await r.run({ t: 'postChannel', actor: bob, channel: channelId, text: 'again' })), 'not-member');
    assert.deepEqual(r.queries.channelHistory(channelId).items.map((m) => [m.senderName, m.text, m.channelId, m.recipientId]), [['bob', 'hi all', channelId, null]]);
  });

  test('unknown channels are refused everywhere', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    for (const t2 of ['joinChannel', 'leaveChannel'] as const) {
      assert.equal(failure(await r.run({ t: t2, actor: alice, channel: 9 })), 'unknown-channel');
    }
    assert.equal(failure(await r.run({ t: 'postChannel', actor: alice, channel: 9, text: 'x' })), 'unknown-channel');
    assert.throws(() => r.queries.channelHistory(9), { code: 'unknown-channel' });
  });

  test('posts are validated like direct messages', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    await assert.rejects(r.prepare({ t: 'postChannel', actor: alice, channel: 1, text: '' }), { code: 'invalid-message' });
    await assert.rejects(r.prepare({ t: 'postChannel', actor: alice, channel: 1, text: 'z'.repeat(16_001) }), { code: 'invalid-message' });
  });

  test('history pages from newest to oldest', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    for (const text of ['p1', 'p2', 'p3']) await r.ok({ t: 'postChannel', actor: alice, channel: 1, text });
    const first = r.queries.channelHistory(1, { limit: 2 });
    const second = r.queries.channelHistory(1, { limit: 2, cursor: first.next });
    assert.deepEqual([first.items.map((m) => m.text), second.items.map((m) => m.text), second.next], [['p2', 'p3'], ['p1'], null]);
  });

  test('channel list pages by name', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    for (const name of ['b', 'a', 'c']) await r.ok({ t: 'createChannel', actor: alice, name });
    const first = r.queries.channels({ limit: 3 });
    const second = r.queries.channels({ limit: 3, cursor: first.next });
    assert.deepEqual([first.items.map((c) => c.name), second.items.map((c) => c.name), second.next], [['a', 'b', 'c'], ['general'], null]);
  });
});
