// The ChatApi in-process, as the Electron preload and the WebSocket bridge will use it: one
// object per client, bound to a session by login, with typed errors and live events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChatApiError, type ChatEvent } from '../../common/chat-api.js';
import { PeerGroup } from '../helpers/peer-group.js';
import { password } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';

describe('ChatApi in-process (one peer)', () => {
  let group: PeerGroup;

  before(async () => {
    group = await PeerGroup.start({ size: 1 });
  });

  after(async () => {
    await group?.stop();
  });

  test('login binds the object to the session; logout unbinds it and ends its events', async () => {
    const server = group.server(0);
    await server.session().register('alice', password);
    await server.session().register('bob', password);
    const alice = server.session();
    await assert.rejects(alice.unread(), (err) => err instanceof ChatApiError && err.code === 'not-logged-in');

    const { token, account } = await alice.login('alice', password);
    assert.equal((await alice.whoami()).account.id, account.id);
    const events: ChatEvent[] = [];
    await alice.subscribe((e) => events.push(e));
    assert.equal(events[0]?.type, 'group');

    const bob = server.session({ username: 'bob', password });
    const sent = await bob.sendDirect('alice', 'hello');
    await waitFor(() => events.find((e) => e.type === 'message' && e.message.id === sent.messageId), 'the message event');

    const later = server.session({ token });
    assert.equal((await later.unread()).total, 1, 'the token works from another object');
    await alice.logout();
    assert.deepEqual(events.at(-1), { type: 'ended', appliedIndex: events.at(-1)?.appliedIndex, reason: 'logged-out' });
    await assert.rejects(alice.unread(), { code: 'not-logged-in' });
    await assert.rejects(later.unread(), { code: 'bad-token' });
  });

  test('errors quote client input on one short line', async () => {
    const bob = group.server(0).session({ username: 'bob', password });
    const err = await bob.sendDirect(`evil\nname${'x'.repeat(10_000)}`, 'hi').then(() => null, (e: unknown) => e as ChatApiError);
    assert.equal(err?.code, 'no-such-user');
    assert.ok(err !== null && !err.message.includes('\n') && err.message.length < 100, err?.message);
  });

  test('a listener that throws harms neither the peer nor other listeners', async () => {
    const server = group.server(0);
    const bob = server.session({ username: 'bob', password });
    await bob.subscribe(() => {
      throw new Error('a careless listener');
    });
    const seen: ChatEvent[] = [];
    await bob.subscribe((e) => seen.push(e));
    const sent = await server.session({ username: 'alice', password }).sendDirect('bob', 'still fine');
    await waitFor(() => seen.find((e) => e.type === 'message' && e.message.id === sent.messageId), 'the message event');
    assert.ok((await bob.unread()).total >= 1);
  });
});
