// Leadership transfer (dissertation §3.10): the leader brings the transferee up to date, then sends
// TimeoutNow; the transferee campaigns at once (no pre-vote, leases ignored).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, ProposalDropped, Role, type RaftConfig } from '../../../main/raft/types.js';
import { Network, ids, msg, text } from './harness.js';

// Pre-vote and check-quorum on: the transfer must get through both.
const cfg: Partial<RaftConfig> = { preVote: true, checkQuorum: true, electionTicks: 10 };
const transferring = (e: unknown) => e instanceof ProposalDropped && e.reason === 'transferring';

function cluster(n = 3): Network {
  const net = new Network(ids(n), { config: cfg, learners: n > 3 ? ids(n).slice(3) : [] });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').propose(text('x'));
  net.settle();
  return net;
}

test('transfer: an up-to-date transferee gets TimeoutNow at once and wins the next term without waiting', () => {
  const net = cluster();
  const from = net.delivered.length;
  net.get('1').transferLeadership('2');
  net.settle(); // no ticks at all
  const sent = net.delivered.slice(from);
  assert.deepEqual(sent.filter((m) => m.type === MessageType.TimeoutNow).map((m) => [m.from, m.to]), [['1', '2']]);
  assert.equal(sent.filter((m) => m.type === MessageType.PreVote).length, 0, 'no pre-vote round');
  const votes = sent.filter((m) => m.type === MessageType.Vote);
  assert.ok(votes.length === 2 && votes.every((m) => m.context === 'transfer' && m.term === 2));
  assert.equal(net.leader(), '2');
  assert.equal(net.get('2').status().term, 2);
  assert.equal(net.get('1').status().role, Role.Follower);
  assert.equal(net.get('1').status().leader, '2');
});

test('transfer: a lagging transferee is caught up first, and only then gets TimeoutNow', () => {
  const net = cluster();
  net.isolate('3');
  for (let i = 0; i < 5; i++) net.get('1').propose(text(`e${i}`));
  net.settle();
  net.heal();
  const from = net.delivered.length;
  net.get('1').transferLeadership('3');
  net.settle();
  const sent = net.delivered.slice(from);
  const timeoutNow = sent.findIndex((m) => m.type === MessageType.TimeoutNow);
  const caughtUp = sent.findIndex((m) => m.type === MessageType.AppResp && m.from === '3' && !m.reject && m.index === 7);
  assert.ok(caughtUp >= 0 && timeoutNow > caughtUp, `catch-up at ${caughtUp}, TimeoutNow at ${timeoutNow}`);
  assert.equal(sent.filter((m) => m.type === MessageType.TimeoutNow).length, 1);
  assert.equal(net.leader(), '3');
  assert.equal(net.get('3').status().commit, 8, 'the new leader holds everything, plus its no-op');
});

test('transfer: proposals are dropped while a transfer is in progress', () => {
  const net = cluster();
  net.isolate('3');
  net.get('1').transferLeadership('3');
  net.settle();
  assert.equal(net.get('1').status().transferee, '3');
  assert.throws(() => net.get('1').propose(text('y')), transferring);
  assert.throws(() => net.get('1').proposeConfChange({ type: 'addLearner', node: '9' }), transferring);
  const last = net.get('1').status().lastIndex;
  net.get('2').propose(text('forwarded')); // a forwarded proposal is dropped silently
  net.settle();
  assert.equal(net.get('1').status().lastIndex, last);
});

test('transfer: abandoned after an election timeout if the transferee never catches up', () => {
  const net = cluster();
  net.isolate('3');
  net.get('1').transferLeadership('3');
  net.settle();
  net.tick('1', 9);
  assert.equal(net.get('1').status().transferee, '3', 'still trying within the election timeout');
  net.tick('1');
  assert.equal(net.get('1').status().transferee, null);
  assert.equal(net.get('1').status().role, Role.Leader, 'and still leading');
  net.get('1').propose(text('accepted again'));
  net.settle();
  assert.equal(net.get('2').status().commit, 3);
});

test('transfer: to itself, to a learner or to a non-member is ignored', () => {
  const net = cluster(4); // 4 is a learner
  for (const to of ['1', '4', '9']) {
    const from = net.delivered.length;
    net.get('1').transferLeadership(to);
    net.settle();
    assert.equal(net.get('1').status().transferee, null, `to ${to}`);
    assert.equal(net.delivered.slice(from).filter((m) => m.type === MessageType.TimeoutNow).length, 0, `to ${to}`);
    net.get('1').propose(text(`after ${to}`)); // not blocked
  }
  net.settle();
  assert.equal(net.leader(), '1');
  assert.equal(net.get('1').status().term, 1);
  // A learner that receives TimeoutNow anyway does not campaign.
  net.deliver(msg({ type: MessageType.TimeoutNow, from: '1', to: '4', term: 1 }));
  net.settle();
  assert.equal(net.get('4').status().role, Role.Follower);
  assert.equal(net.get('4').status().term, 1);
});

test('transfer: a follower may ask the leader to hand leadership to it', () => {
  const net = cluster();
  net.get('3').transferLeadership('3');
  net.settle();
  assert.deepEqual(net.delivered.filter((m) => m.type === MessageType.TransferLeader).map((m) => [m.from, m.to, m.context]), [['3', '1', '3']]);
  assert.equal(net.leader(), '3');
  assert.equal(net.get('3').status().term, 2);
});
