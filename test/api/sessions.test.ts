// Sessions are replicated: a token from a login on one peer works on every peer, after a
// leadership transfer and after the leader is gone; a logout anywhere ends it everywhere.
// Per-call name + password authentication replicates nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { PeerGroup } from '../helpers/peer-group.js';
import { as, password, requestIds, TestClient } from '../helpers/grpc-client.js';

interface LoginReply { appliedIndex: number; token: string; account: { username: string }; unread: number }

const rid = requestIds('sessions-test');

describe('sessions on a 3-peer group', () => {
  let group: PeerGroup;
  let peers: TestClient[] = [];

  before(async () => {
    group = await PeerGroup.start();
    peers = group.addresses.map((a) => new TestClient(a));
    for (const username of ['alice', 'bob']) await peers[0]?.call('Register', { request: rid(), username, password });
  });

  after(async () => {
    for (const c of peers) c.close();
    await group?.stop();
  });

  const peer = (i: number) => peers[i] as TestClient;
  const loginOn = (i: number, username: string) => peer(i).call<LoginReply>('Login', { request: rid(), username, password });

  test('a token issued by peer A works on B and C (read-your-writes through qc-min-index)', async () => {
    const { token, appliedIndex } = await loginOn(0, 'alice');
    for (const i of [1, 2]) {
      const meta = { 'qc-token': token, 'qc-min-index': String(appliedIndex) };
      const unread = await peer(i).call<{ total: number }>('Unread', {}, meta);
      assert.equal(unread.total, 0);
      await peer(i).call('SendDirect', { request: rid(), to: 'bob', text: `from peer ${i}` }, meta);
    }
  });

  test('without min_index too: a token not yet applied here is confirmed with the leader', async () => {
    const { token } = await loginOn(2, 'bob');
    const unread = await peer(1).call<{ total: number }>('Unread', {}, { 'qc-token': token });
    assert.equal(unread.total, 2);
  });

  test('a logout on one peer ends the session on every peer', async () => {
    const { token } = await loginOn(1, 'alice');
    const { appliedIndex } = await peer(2).call<{ appliedIndex: number }>('Logout', { request: rid() }, { 'qc-token': token });
    for (const i of [0, 1, 2]) {
      const f = await peer(i).failure('Unread', { read: { minIndex: appliedIndex } }, { 'qc-token': token });
      assert.deepEqual([f.status, f.code], [grpc.status.UNAUTHENTICATED, 'bad-token']);
    }
  });

  test('name + password per call is checked locally and replicates nothing', async () => {
    const before = group.servers.map((s) => s.peer.appliedIndex);
    const meta = as('bob');
    for (const i of [0, 1, 2]) await peer(i).call('Unread', {}, meta);
    assert.deepEqual(group.servers.map((s) => s.peer.appliedIndex), before);
    const binary = new TextEncoder().encode(password);
    const viaBin = await peer(0).call<{ total: number }>('Unread', {}, { 'qc-user': 'bob', 'qc-password-bin': Buffer.from(binary) as unknown as string });
    assert.equal(typeof viaBin.total, 'number');
  });

  test('a token survives a leadership transfer and the loss of the leader', async () => {
    const { token, appliedIndex } = await loginOn(0, 'alice');
    const meta = { 'qc-token': token, 'qc-min-index': String(appliedIndex) };
    const first = await group.leader();
    const next = (first + 1) % 3;
    await peer(first).call('TransferLeadership', { to: `p${next + 1}` });
    assert.equal(await group.leader(), next);
    await peer(first).call('SendDirect', { request: rid(), to: 'bob', text: 'after the transfer' }, meta);

    await group.stopPeer(next);
    const survivors = [0, 1, 2].filter((i) => i !== next);
    await group.leader();
    for (const i of survivors) {
      const sent = await peer(i).call<{ messageId: number }>('SendDirect', { request: rid(), to: 'bob', text: `after the loss, via ${i}` }, meta);
      assert.ok(sent.messageId > 0);
    }
    const history = await peer(survivors[0] as number).call<{ messages: { text: string }[] }>('History', { with: 'alice' }, as('bob'));
    assert.deepEqual(history.messages.map((m) => m.text).slice(-3), ['after the transfer', ...survivors.map((i) => `after the loss, via ${i}`)]);
  });
});
