// With a majority of the group gone, a write fails in bounded time with UNAVAILABLE and the
// peer's own count of reachable voters; reads of the local replica keep working.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { PeerGroup } from '../helpers/peer-group.js';
import { as, TestClient } from '../helpers/grpc-client.js';


describe('ChatService without a quorum', () => {
  let group: PeerGroup;
  let client: TestClient;

  before(async () => {
    group = await PeerGroup.start({ writeTimeoutMs: 1_000 });
    const first = new TestClient(group.addresses[0] as string);
    await first.register('alice', 'bob');
    const sent = await first.call<{ appliedIndex: number }>('SendDirect', { to: 'bob', text: 'before the outage' }, as('alice'));
    first.close();
    client = new TestClient(group.addresses[2] as string);
    await client.call('Unread', { read: { minIndex: sent.appliedIndex } }, as('bob'));
    await group.stopPeer(0);
    await group.stopPeer(1);
  });

  after(async () => {
    client?.close();
    await group?.stop();
  });

  test('a write fails with UNAVAILABLE: "no quorum: 1 of 3 peers reachable"', async () => {
    const started = Date.now();
    const f = await client.failure('SendDirect', { request: { clientId: 'quorum-test', seq: 1 }, to: 'alice', text: 'anyone?' }, as('bob'));
    assert.deepEqual(f, { status: grpc.status.UNAVAILABLE, code: 'no-quorum', details: 'no quorum: 1 of 3 peers reachable' });
    assert.ok(Date.now() - started < 5_000, 'within the write timeout, not forever');
  });

  test('the local replica still answers reads; a linearizable read does not', async () => {
    const unread = await client.call<{ total: number }>('Unread', {}, as('bob'));
    assert.equal(unread.total, 1);
    const f = await client.failure('Unread', { read: { linearizable: true } }, as('bob'));
    assert.equal(f.status, grpc.status.UNAVAILABLE);
    assert.equal(f.code, 'no-quorum');
  });
});
