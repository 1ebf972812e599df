// A leader defers telling idle followers a new commit index (RaftConfig.deferCommitNotices) and
// the peer flushes those notices itself once it has been quiet for commitNoticeMs. The core's
// tick would flush them too, but the tick calls the core directly: a call of
// RaftNode.flushCommitNotices can only come from the peer's own timer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RaftNode } from '../../main/raft/node.js';
import { as, TestClient } from '../helpers/grpc-client.js';
import { PeerGroup } from '../helpers/peer-group.js';
import { replaceMethod } from '../helpers/replace-method.js';
import { waitFor } from '../helpers/wait.js';

let group: PeerGroup;
let client: TestClient;
let restore: (() => void) | null = null;
const flushedBy: string[] = [];

before(async () => {
  group = await PeerGroup.start({ size: 3, commitNoticeMs: 2 });
  restore = replaceMethod(RaftNode.prototype, 'flushCommitNotices', (original) => function (this: RaftNode) {
    flushedBy.push(this.id);
    original.call(this);
  });
});

after(async () => {
  restore?.();
  client?.close();
  await group?.stop();
});

test('the leader flushes deferred commit notices on its own timer, and every follower learns the commit', async () => {
  const leader = await group.leader();
  client = new TestClient(group.addresses[leader] as string);
  await client.register('alice', 'bob');
  flushedBy.length = 0;
  const { appliedIndex } = await client.call<{ appliedIndex: number }>('SendDirect', { to: 'bob', text: 'hello' }, as('alice'));
  const leaderId = group.server(leader).peer.id;
  await waitFor(() => flushedBy.includes(leaderId), 'the leader to flush its commit notices');
  for (const i of [0, 1, 2]) {
    const peer = group.server(i).peer;
    await waitFor(() => peer.status().commit >= appliedIndex, `${peer.id} to learn that ${appliedIndex} is committed`);
  }
  assert.ok(flushedBy.every((id) => id === leaderId), `only the leader flushes (${flushedBy.join(', ')})`);
});
