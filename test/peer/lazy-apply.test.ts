// Committed entries nobody on a peer waits for are applied a little later, in one batch
// (main/peer/peer.ts, defaultLazyApplyMs). Here the wait is a minute, so that "not applied yet"
// can be observed at all: every way of looking at the replica must still see every entry the
// peer knows to be committed, and a graceful stop must leave them in chat.db.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chatSchema } from '../../main/chat/migrations/index.js';
import type { Peer } from '../../main/peer/peer.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { as, TestClient } from '../helpers/grpc-client.js';
import { PeerGroup } from '../helpers/peer-group.js';
import { waitFor } from '../helpers/wait.js';

let group: PeerGroup;
let client: TestClient;
let followers: number[];

before(async () => {
  group = await PeerGroup.start({ size: 3, lazyApplyMs: 60_000 });
  const leader = await group.leader();
  followers = [0, 1, 2].filter((i) => i !== leader);
  client = new TestClient(group.addresses[leader] as string);
  await client.register('alice', 'bob');
});

after(async () => {
  client?.close();
  await group?.stop();
});

/**
 * Sends through the leader; resolves once `peer` has handed the committed write to its state
 * machine (its core counts it applied; the peer may still hold it back).
 */
async function sendAndCommitOn(peer: Peer, text: string): Promise<number> {
  const { appliedIndex } = await client.call<{ appliedIndex: number }>('SendDirect', { to: 'bob', text }, as('alice'));
  await waitFor(() => peer.status().applied >= appliedIndex, `${peer.id} to take ${appliedIndex} as committed`);
  return appliedIndex;
}

test('a follower nobody asks applies later; any read of it applies first', async () => {
  const peer = group.server(followers[0] as number).peer;
  const index = await sendAndCommitOn(peer, 'read me');
  assert.ok(peer.appliedIndex < index, `nothing waits on ${peer.id}: not applied yet (applied ${peer.appliedIndex}, committed ${index})`);
  const bob = peer.queries.accountByName('bob');
  assert.ok(bob !== null);
  assert.equal(peer.appliedIndex, index, 'reading the replica applied what it held committed');
  assert.equal(peer.queries.unread(bob.id).total, 1);
});

test('a wait for an index applies at once', async () => {
  const peer = group.server(followers[0] as number).peer;
  const index = await sendAndCommitOn(peer, 'wait for me');
  assert.ok(peer.appliedIndex < index);
  await peer.waitApplied(index, 1_000); // far below the lazy wait
  assert.ok(peer.appliedIndex >= index);
});

test('a graceful stop leaves what it held committed in chat.db', async () => {
  const i = followers[1] as number;
  const peer = group.server(i).peer;
  const index = await sendAndCommitOn(peer, 'keep me');
  assert.ok(peer.appliedIndex < index);
  await group.stopPeer(i);
  const db = openDatabase(join(group.dataDir(i), 'chat.db'), chatSchema, { readonly: true });
  try {
    const applied = db.prepare<[], number>('SELECT idx FROM raft_applied').pluck().get() ?? 0;
    assert.ok(applied >= index, `chat.db applied up to ${applied}, the write was ${index}`);
    const bodies = db.prepare<[], string>('SELECT body FROM messages ORDER BY id').pluck().all();
    assert.deepEqual(bodies.slice(-3), ['read me', 'wait for me', 'keep me']);
  } finally {
    db.close();
  }
});
