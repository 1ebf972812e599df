import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatApiError, type ChatEvent } from '../../common/chat-api.js';
import type { BridgePush, BridgeReply, BridgeRequest } from '../../common/bridge.js';
import { BridgeClient, RemoteChatApi, RemoteHostApi, type ReconnectingLink } from '../../renderer/src/bridge/remote-chat-api.js';
import { waitFor } from '../helpers/wait.js';

/** An in-memory BridgeLink: answers with `handler`, records requests, pushes on demand. */
class FakeLink implements ReconnectingLink {
  connected = true;
  readonly requests: BridgeRequest[] = [];
  private readonly push = new Set<(p: BridgePush) => void>();
  private readonly conn = new Set<(up: boolean) => void>();
  constructor(private readonly handler: (r: BridgeRequest) => BridgeReply['ok'] extends never ? never : { ok: true; result: unknown } | { ok: false; code: string }) {}
  async call(r: BridgeRequest): Promise<BridgeReply> {
    if (!this.connected) return { type: 'reply', id: r.id, ok: false, error: { code: 'unavailable', message: 'down' } };
    this.requests.push(r);
    const a = this.handler(r);
    return a.ok ? { type: 'reply', id: r.id, ok: true, result: a.result }
      : { type: 'reply', id: r.id, ok: false, error: { code: a.code as 'no-quorum', message: `failed: ${a.code}` } };
  }
  onPush(l: (p: BridgePush) => void) { this.push.add(l); return () => this.push.delete(l); }
  onConnection(l: (up: boolean) => void) { this.conn.add(l); return () => this.conn.delete(l); }
  emit(p: BridgePush) { for (const l of this.push) l(p); }
  setConnected(up: boolean) { this.connected = up; for (const l of this.conn) l(up); }
}

const groupEvent = (leader: string): ChatEvent => ({ type: 'group', appliedIndex: 1, leader, term: 2, voters: ['n1'], learners: [] });

test('methods map to calls; errors come back as ChatApiError', async () => {
  let sub = 0;
  const link = new FakeLink((r) => {
    if (r.method === 'sendDirect') return { ok: false, code: 'no-such-user' };
    if (r.method === 'login') return { ok: true, result: { token: 'tok', account: { id: 1, username: 'alice', createdAt: 0 }, unread: 0, appliedIndex: 3 } };
    if (r.method === 'subscribe') return { ok: true, result: ++sub };
    if (r.method === 'hostState') return { ok: true, result: { state: 'setup' } };
    return { ok: true, result: null };
  });
  const client = new BridgeClient(link);
  const api = new RemoteChatApi(client);
  const host = new RemoteHostApi(client);
  await assert.rejects(api.sendDirect('carol', 'hi', { request: { clientId: 'c', seq: 1 } }), (err: unknown) => {
    assert.ok(err instanceof ChatApiError);
    assert.equal(err.code, 'no-such-user');
    return true;
  });
  assert.deepEqual(link.requests[0]?.args, ['carol', 'hi', { request: { clientId: 'c', seq: 1 } }]);
  await api.login('alice', 'pw');
  assert.deepEqual(client.credentials, { token: 'tok' });
  assert.deepEqual(await host.hostState(), { state: 'setup' });
  await api.history('bob');
  assert.deepEqual(link.requests.at(-1)?.args, ['bob']);
});

test('subscriptions: events routed by number (also ones that beat the reply), re-made after a reconnect', async () => {
  let sub = 10;
  const link = new FakeLink((r) => {
    if (r.method === 'subscribe') {
      const n = ++sub;
      // The main side sends the first event right away, before the reply arrives.
      link.emit({ type: 'event', subscription: n, event: groupEvent(`first-${n}`) });
      return { ok: true, result: n };
    }
    return { ok: true, result: null };
  });
  const client = new BridgeClient(link);
  const api = new RemoteChatApi(client);
  const a: string[] = [];
  const b: string[] = [];
  await api.subscribe((e) => { if (e.type === 'group') a.push(e.leader ?? ''); });
  const unsubscribeB = await api.subscribe((e) => { if (e.type === 'group') b.push(e.leader ?? ''); });
  link.emit({ type: 'event', subscription: 11, event: groupEvent('to-a') });
  link.emit({ type: 'event', subscription: 12, event: groupEvent('to-b') });
  assert.deepEqual(a, ['first-11', 'to-a']);
  assert.deepEqual(b, ['first-12', 'to-b']);
  api.useCredentials({ token: 'T' });
  // The peer restarts: on reconnect the credentials are bound again and both subscriptions re-made.
  link.setConnected(false);
  await assert.rejects(api.status(), (err: unknown) => err instanceof ChatApiError && err.code === 'unavailable');
  link.requests.length = 0;
  link.setConnected(true);
  await waitFor(() => a.includes('first-13') && b.includes('first-14'), 'both subscriptions made again');
  assert.deepEqual(link.requests.map((r) => r.method), ['useCredentials', 'subscribe', 'subscribe']);
  assert.deepEqual(link.requests[0]?.args, [{ token: 'T' }]);
  link.emit({ type: 'event', subscription: 13, event: groupEvent('after-a') });
  assert.deepEqual(a, ['first-11', 'to-a', 'first-13', 'after-a']);
  unsubscribeB();
  await waitFor(() => link.requests.at(-1)?.method === 'unsubscribe', 'the unsubscribe request');
  assert.deepEqual(link.requests.at(-1), { id: link.requests.at(-1)?.id, method: 'unsubscribe', args: [14] });
  link.emit({ type: 'event', subscription: 14, event: groupEvent('ignored') });
  assert.equal(b.includes('ignored'), false);
});
