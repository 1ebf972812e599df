// Linearizable reads through ReadIndex (dissertation §6.4): the leader records its commit index,
// confirms it still leads with a heartbeat round acknowledged by a majority of voters, then answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, ProposalDropped, Role, type Message, type RaftConfig } from '../../../main/raft/types.js';
import { Network, ids, text } from './harness.js';

const plain: Partial<RaftConfig> = { preVote: false, checkQuorum: false };
const beatsWith = (msgs: readonly Message[], context: string) => msgs.filter((m) => m.type === MessageType.Heartbeat && m.context === context);

/** 3 voters (plus learners), leader 1 with entries 1..2 committed everywhere; messages then held. */
function held(learners: string[] = []): Network {
  const net = new Network([...ids(3), ...learners], { config: plain, learners });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').propose(text('x'));
  net.settle();
  net.hold = true;
  return net;
}

test('read index: the leader answers only after a majority acknowledged a heartbeat sent after the read', () => {
  const net = held();
  net.get('1').readIndex('r1');
  net.settle();
  assert.deepEqual(beatsWith(net.held, 'r1').map((m) => m.to).sort(), ['2', '3']);
  assert.deepEqual(net.testNode('1').readStates, [], 'no answer before any acknowledgement');
  // A write committed meanwhile does not change the answer: it is the commit index at read time.
  net.hold = false;
  net.get('1').propose(text('later'));
  net.settle();
  net.hold = true;
  net.deliverHeld((m) => m.type === MessageType.Heartbeat && m.to === '2');
  net.settle();
  assert.deepEqual(net.testNode('1').readStates, []);
  assert.equal(net.deliverHeld((m) => m.type === MessageType.HeartbeatResp && m.context === 'r1'), 1);
  net.settle();
  assert.deepEqual(net.testNode('1').readStates, [{ index: 2, context: 'r1' }], '1 + 2 are a majority');
});

test('read index: acknowledgements from learners do not count', () => {
  const net = held(['4', '5']);
  net.get('1').readIndex('r');
  net.settle();
  net.deliverHeld((m) => m.type === MessageType.Heartbeat && (m.to === '4' || m.to === '5'));
  net.settle();
  net.deliverHeld((m) => m.type === MessageType.HeartbeatResp);
  net.settle();
  assert.deepEqual(net.testNode('1').readStates, []);
  net.deliverHeld((m) => m.type === MessageType.Heartbeat && m.to === '3');
  net.settle();
  net.deliverHeld((m) => m.type === MessageType.HeartbeatResp);
  net.settle();
  assert.deepEqual(net.testNode('1').readStates, [{ index: 2, context: 'r' }]);
});

test('read index: reads are answered in the order they arrived', () => {
  const net = held();
  net.get('1').readIndex('a');
  net.get('1').readIndex('b');
  net.settle();
  // Only the round for "b" is acknowledged: it proves leadership after "a" arrived too.
  net.deliverHeld((m) => m.type === MessageType.Heartbeat && m.context === 'b' && m.to === '3');
  net.settle();
  net.deliverHeld((m) => m.type === MessageType.HeartbeatResp);
  net.settle();
  assert.deepEqual(net.testNode('1').readStates.map((r) => r.context), ['a', 'b']);
});

test('read index: a follower\'s read is forwarded to the leader and the answer comes back', () => {
  const net = held();
  net.hold = false;
  net.get('3').readIndex('f');
  net.settle();
  assert.deepEqual(net.delivered.filter((m) => m.type === MessageType.ReadIndex).map((m) => [m.from, m.to]), [['3', '1']]);
  assert.deepEqual(net.delivered.filter((m) => m.type === MessageType.ReadIndexResp).map((m) => [m.to, m.index, m.context]), [['3', 2, 'f']]);
  assert.deepEqual(net.testNode('3').readStates, [{ index: 2, context: 'f' }]);
  assert.deepEqual(net.testNode('1').readStates, [], 'the leader does not hand it to its own application');
});

test('read index: a leader cut off from the majority never answers (its data may be stale)', () => {
  const net = held();
  net.hold = false;
  net.isolate('1');
  net.get('1').readIndex('stale');
  net.settle();
  assert.equal(net.elect('2'), Role.Leader);
  net.get('2').propose(text('newer'));
  net.settle();
  net.tick('1', 30);
  assert.equal(net.get('1').status().role, Role.Leader, 'without check-quorum it still believes it leads');
  assert.deepEqual(net.testNode('1').readStates, []);
});

test('read index: a new leader delays reads until an entry of its term is committed', () => {
  const net = held();
  net.winElectionHoldingAppends('2');
  assert.equal(net.get('2').status().role, Role.Leader);
  net.get('2').readIndex('early');
  net.settle();
  assert.deepEqual(beatsWith(net.held, 'early'), [], 'no confirmation round before its no-op commits');
  // Its no-op (3@2) commits: the read gets that commit index, then the heartbeat round.
  net.hold = false;
  net.deliverHeld();
  net.settle();
  assert.equal(net.get('2').status().commit, 3);
  assert.deepEqual(net.testNode('2').readStates, [{ index: 3, context: 'early' }]);
  assert.equal(beatsWith(net.delivered, 'early').length, 2);
});

test('read index: a single voter answers at once; without a leader a read is refused', () => {
  const solo = new Network(['1'], { config: plain });
  assert.equal(solo.elect('1'), Role.Leader);
  solo.get('1').readIndex('s');
  solo.settle();
  assert.deepEqual(solo.testNode('1').readStates, [{ index: 1, context: 's' }]);
  const net = new Network(ids(3), { config: plain });
  assert.throws(() => net.get('2').readIndex('x'), (e: unknown) => e instanceof ProposalDropped && e.reason === 'no-leader');
});
