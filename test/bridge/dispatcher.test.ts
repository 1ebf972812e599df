// The bridge dispatcher against a stand-in host: host state pushes, chat calls before the app
// is in a group, unexpected failures reported as 'internal', and close() ending everything.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { BridgePush, DiscoveredGroup, HostState } from '../../common/bridge.js';
import { ChatApiError, type ChatApi, type ChatEventListener } from '../../common/chat-api.js';
import { createBridgeSession, type BridgeHost } from '../../main/bridge/dispatcher.js';

class FakeHost extends EventEmitter<{ state: [HostState] }> implements BridgeHost {
  state: HostState = { state: 'setup' };
  readonly chatListeners = new Set<ChatEventListener>();
  async hostState(): Promise<HostState> {
    return this.state;
  }
  async discoverGroups(): Promise<readonly DiscoveredGroup[]> {
    throw new Error('mDNS exploded');
  }
  async createGroup(name: string): Promise<HostState> {
    this.state = { state: 'member', groupName: name, nodeId: 'n-1', staticGroup: false };
    this.emit('state', this.state);
    return this.state;
  }
  async joinGroup(): Promise<HostState> {
    throw new ChatApiError('invalid-argument', 'not a Quorum Chat invite code (it starts with "qc1-")');
  }
  async inviteCode(): Promise<string | null> {
    return null;
  }
  chatSession(): ChatApi {
    if (this.state.state !== 'member') throw new ChatApiError('unavailable', 'this app is not in a group yet: create or join one');
    const listeners = this.chatListeners;
    return {
      whoami: async () => ({ appliedIndex: 1, account: { id: 1, username: 'ann', createdAt: 0 }, unread: 0 }),
      subscribe: async (listener: ChatEventListener) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    } as unknown as ChatApi;
  }
}

test('host changes are pushed; chat waits for a group; failures keep their codes', async () => {
  const host = new FakeHost();
  const pushes: BridgePush[] = [];
  const session = createBridgeSession(host, (p) => pushes.push(p));

  const early = await session.handle({ id: 1, method: 'whoami', args: [] });
  assert.deepEqual(early, { type: 'reply', id: 1, ok: false, error: { code: 'unavailable', message: 'this app is not in a group yet: create or join one' } });
  const internal = await session.handle({ id: 2, method: 'discoverGroups', args: [] });
  assert.deepEqual(internal.ok ? null : internal.error.code, 'internal');
  assert.doesNotMatch(internal.ok ? '' : internal.error.message, /exploded/, 'details stay in the log');
  const refused = await session.handle({ id: 3, method: 'joinGroup', args: ['nope', null] });
  assert.deepEqual(refused.ok ? null : refused.error.code, 'invalid-argument');

  const created = await session.handle({ id: 4, method: 'createGroup', args: ['Office'] });
  assert.ok(created.ok);
  assert.deepEqual(pushes, [{ type: 'host', state: host.state }]);
  const whoami = await session.handle({ id: 5, method: 'whoami', args: [null] });
  assert.ok(whoami.ok, JSON.stringify(whoami));

  const subscribed = await session.handle({ id: 6, method: 'subscribe', args: [] });
  assert.ok(subscribed.ok && typeof subscribed.result === 'number');
  assert.equal(host.chatListeners.size, 1);
  for (const l of host.chatListeners) l({ type: 'deleted', appliedIndex: 2, ids: [1] });
  assert.deepEqual(pushes.at(-1), { type: 'event', subscription: subscribed.result, event: { type: 'deleted', appliedIndex: 2, ids: [1] } });

  session.close();
  assert.equal(host.chatListeners.size, 0, 'close ends the subscriptions');
  assert.equal(host.listenerCount('state'), 0, 'and stops following the host');
  const afterClose = await session.handle({ id: 7, method: 'hostState', args: [] });
  assert.deepEqual(afterClose.ok ? null : afterClose.error.code, 'unavailable');
});

test('anything that is not a request is answered, never thrown', async () => {
  const session = createBridgeSession(new FakeHost(), () => undefined);
  for (const raw of [null, 'text', 42, [], { id: 'x' }, { id: 1, method: 'hostState', args: {} }, { id: -1, method: 'hostState' }]) {
    const reply = await session.handle(raw);
    assert.equal(reply.ok, false, JSON.stringify(raw));
    assert.equal(reply.ok ? null : reply.error.code, 'invalid-argument');
  }
  const ok = await session.handle({ id: 9, method: 'hostState' });
  assert.deepEqual(ok, { type: 'reply', id: 9, ok: true, result: { state: 'setup' } });
});
