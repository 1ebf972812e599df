// Single-server membership changes (dissertation §4): learners, promotion, removal (of the leader
// too), one change at a time, and a new leader's wait for an entry of its own term.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeConfChange } from '../../../main/raft/confchange.js';
import { EntryType, MessageType, ProposalDropped, RemovedError, Role, type ConfChange, type RaftConfig } from '../../../main/raft/types.js';
import { Network, Solo, ent, ids, stateWith, text } from './harness.js';

const plain: Partial<RaftConfig> = { preVote: false, checkQuorum: false };
const empty = { voters: [], learners: [] };
const dropped = (reason: string) => (e: unknown) => e instanceof ProposalDropped && e.reason === reason;

/**
 * 3 voters led by 1, plus a fresh node 4 (empty log) added as a learner. The joiner starts with the
 * founders' membership (see the BUG-2 test below for a joiner that starts knowing none).
 */
function withLearner(joinerConf: { voters: string[]; learners: string[] } = { voters: ids(3), learners: [] }): Network {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').propose(text('before'));
  net.settle();
  net.add('4', stateWith(joinerConf), plain, 4);
  net.get('1').proposeConfChange({ type: 'addLearner', node: '4' });
  net.settle();
  return net;
}

test('addLearner: the learner receives the whole log, and every node applies the change', () => {
  const net = withLearner();
  const want = { voters: ids(3), learners: ['4'] };
  for (const id of ['1', '2', '3', '4']) assert.deepEqual(net.get(id).status().conf, want, `node ${id}`);
  assert.deepEqual(net.logOf('4'), net.logOf('1'));
  assert.equal(net.get('4').status().commit, 3);
  const p4 = net.get('1').status().progress.find((p) => p.id === '4');
  assert.equal(p4?.voter, false);
  assert.equal(p4?.match, 3);
});

// BUG-2 (reported to the lead, not fixed here): the founders' membership lives only in their
// InitialState.conf, never in the log. A joiner that starts knowing no membership and catches up
// from the log (no snapshot) applies only the deltas: it ends with voters [] / learners [4], and
// after `promote 4` believes it is the only voter, so it elects itself alone and commits alone.
test('addLearner: a joiner that starts knowing no membership learns it from the log (bootstrap entry)', () => {
  const net = withLearner(empty);
  assert.deepEqual(net.get('4').status().conf, { voters: ids(3), learners: ['4'] });
  net.get('1').proposeConfChange({ type: 'promote', node: '4' });
  net.settle();
  net.isolate('4');
  net.get('4').campaign();
  net.settle();
  assert.notEqual(net.get('4').status().role, Role.Leader, 'one vote of four is not a majority');
});

test('addLearner: a learner does not count toward commit', () => {
  const net = withLearner();
  net.cutLink('1', '2');
  net.cutLink('1', '3');
  net.get('1').propose(text('x'));
  net.settle();
  assert.equal(net.get('4').status().lastIndex, 4, 'the learner stores the entry');
  assert.equal(net.get('1').status().commit, 3, 'but leader + learner are not a majority of 3 voters');
  net.heal();
  net.tick('1');
  assert.equal(net.get('1').status().commit, 4);
});

test('addLearner: a learner neither campaigns nor is asked to vote', () => {
  const net = withLearner();
  net.isolate('4');
  net.tick('4', 100);
  assert.equal(net.get('4').status().role, Role.Follower);
  assert.equal(net.get('4').status().term, 1);
  net.heal();
  assert.equal(net.elect('2'), Role.Leader);
  const asked = net.delivered.filter((m) => (m.type === MessageType.Vote || m.type === MessageType.PreVote) && m.term === 2).map((m) => m.to);
  assert.deepEqual(asked.sort(), ['1', '3']);
  // The learner follows the new leader.
  assert.equal(net.get('4').status().leader, '2');
});

test('promote: a promoted learner votes and counts toward commit', () => {
  const net = withLearner();
  net.get('1').proposeConfChange({ type: 'promote', node: '4' });
  net.settle();
  assert.deepEqual(net.get('1').status().conf, { voters: ['1', '2', '3', '4'], learners: [] });
  assert.deepEqual(net.get('4').status().conf, { voters: ['1', '2', '3', '4'], learners: [] });
  // 4 voters: a majority is 3.
  net.cutLink('1', '2');
  net.cutLink('1', '3');
  net.get('1').propose(text('x'));
  net.settle();
  assert.equal(net.get('1').status().commit, 4, '1 + 4 are 2 of 4');
  net.heal();
  net.cutLink('1', '3');
  net.tick('1');
  assert.equal(net.get('1').status().commit, 5, '1 + 2 + 4 are 3 of 4');
  net.heal();
  assert.equal(net.elect('4'), Role.Leader, 'and it can now lead');
});

test('addVoter: a node added directly as a voter counts at once', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.add('4', stateWith({ voters: ids(3), learners: [] }), plain, 4);
  net.get('1').proposeConfChange({ type: 'addVoter', node: '4' });
  net.settle();
  assert.deepEqual(net.get('1').status().conf.voters, ['1', '2', '3', '4']);
  net.isolate('4');
  net.isolate('3');
  net.get('1').propose(text('x'));
  net.settle();
  assert.equal(net.get('1').status().commit, 2, '1 + 2 are 2 of 4: not a majority');
});

test('remove: a removed follower gets no more messages and the quorum shrinks', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').proposeConfChange({ type: 'remove', node: '3' });
  net.settle();
  assert.deepEqual(net.get('1').status().conf, { voters: ['1', '2'], learners: [] });
  assert.deepEqual(net.get('1').status().progress.map((p) => p.id).sort(), ['1', '2']);
  const from = net.delivered.length;
  net.cutLink('1', '2');
  net.get('1').propose(text('x'));
  net.tick('1', 3);
  assert.equal(net.delivered.slice(from).filter((m) => m.to === '3').length, 0, 'nothing is sent to 3');
  assert.equal(net.get('1').status().commit, 2, 'alone, 1 is not a majority of {1, 2}');
  net.heal();
  net.tick('1');
  assert.equal(net.get('1').status().commit, 3, '1 + 2 commit without 3');
});

test('remove: the removed follower learns that the change committed, also when the leader defers commit notices', () => {
  for (const size of [2, 3]) {
    const net = new Network(ids(size), { config: { ...plain, deferCommitNotices: true } });
    assert.equal(net.elect('1'), Role.Leader);
    const removed = String(size);
    net.get('1').proposeConfChange({ type: 'remove', node: removed });
    net.settle();
    net.tick('1', 3); // the leader's ticks flush deferred notices: too late once the change is applied
    const status = net.get(removed).status();
    assert.equal(status.commit, net.get('1').status().commit, `${removed} knows the removal committed`);
    assert.ok(!status.conf.voters.includes(removed), `${removed} applied its own removal (the peer stops on it)`);
  }
});

test('remove: a node removed while cut off is told by the leader when it next writes to it (RemovedError), and ignored', () => {
  const net = new Network(ids(4), { config: { ...plain, preVote: true } });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('4');
  net.get('1').proposeConfChange({ type: 'remove', node: '4' });
  net.settle();
  assert.deepEqual(net.get('1').status().conf.voters, ['1', '2', '3'], 'committed by 1, 2, 3 and applied');
  assert.ok(net.get('4').status().conf.voters.includes('4'), '4 never got the entry that removed it');
  net.heal();
  const told: unknown[] = [];
  net.tolerate = (err) => err instanceof RemovedError && told.push(err) > 0;
  const term = net.get('1').status().term;
  net.tick('4', 30); // its election timeout: it asks for pre-votes
  assert.equal(told.length > 0, true, '4 was told');
  assert.equal((told[0] as RemovedError).leader, '1');
  assert.equal(net.get('1').status().role, Role.Leader);
  assert.equal(net.get('1').status().term, term, 'what a non-member sends changes nothing on the leader');
  const removedMessages = net.delivered.filter((m) => m.type === MessageType.Removed);
  assert.ok(removedMessages.every((m) => m.from === '1' && m.to === '4'), 'only the leader tells, and only 4');
});

test('remove: a leader answers Removed to a non-member of its term or an earlier one, and follows one of a later term', () => {
  const solo = new Solo('1', stateWith({ voters: ['1'], learners: [] }), plain);
  solo.tick(30);
  assert.equal(solo.status().role, Role.Leader);
  const term = solo.status().term;
  const answered = solo.step({ type: MessageType.PreVote, from: '9', term: term + 1, index: 99, logTerm: term });
  assert.deepEqual(answered.map((m) => [m.type, m.to, m.term]), [[MessageType.Removed, '9', term]], 'a pre-vote asks for the term after the sender\'s own');
  assert.equal(solo.status().term, term);
  solo.step({ type: MessageType.Heartbeat, from: '9', term: term + 1 });
  assert.deepEqual([solo.status().role, solo.status().leader, solo.status().term], [Role.Follower, '9', term + 1], 'it may lead a membership this node has not heard of');
});

test('remove: a removed leader steps down and hands leadership to a caught-up voter', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').proposeConfChange({ type: 'remove', node: '1' });
  net.settle(); // no ticks: the hand-over is immediate (TimeoutNow), not an election timeout
  assert.equal(net.get('1').status().role, Role.Follower);
  assert.equal(net.delivered.filter((m) => m.type === MessageType.TimeoutNow && m.from === '1').length, 1);
  const leader = net.leader();
  assert.ok(leader === '2' || leader === '3', `new leader ${leader}`);
  assert.equal(net.get(leader).status().term, 2);
  assert.deepEqual(net.get(leader).status().conf, { voters: ['2', '3'], learners: [] });
  net.get(leader).propose(text('after'));
  net.settle();
  for (const id of ['2', '3']) assert.equal(net.get(id).status().commit, 4, `node ${id}`);
  net.tick('1', 100);
  assert.equal(net.get('1').status().role, Role.Follower, 'the removed node does not campaign');
});

test('one change at a time: a second change is refused until the first is applied', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  const n = net.get('1');
  n.proposeConfChange({ type: 'addLearner', node: '4' });
  assert.throws(() => n.proposeConfChange({ type: 'addLearner', node: '5' }), dropped('conf-change-pending'));
  net.isolate('1');
  net.settle();
  assert.equal(n.status().commit, 1, 'the first change is not committed yet');
  assert.throws(() => n.proposeConfChange({ type: 'addLearner', node: '5' }), dropped('conf-change-pending'));
  n.propose(text('normal proposals are fine'));
  net.heal();
  net.tick('1');
  assert.deepEqual(n.status().conf.learners, ['4']);
  n.proposeConfChange({ type: 'addLearner', node: '5' });
  net.settle();
  assert.deepEqual(n.status().conf.learners, ['4', '5']);
});

test('a new leader refuses conf changes until an entry of its own term is applied', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').propose(text('x'));
  net.settle();
  // Everything is committed and applied everywhere; now 2 wins an election, but its no-op (3@2)
  // has not reached anyone yet.
  net.hold = true;
  net.winElectionHoldingAppends('2');
  const n = net.get('2');
  assert.equal(n.status().role, Role.Leader);
  assert.deepEqual([n.status().applied, n.status().lastIndex, n.termAt(3)], [2, 3, 2]);
  assert.throws(() => n.proposeConfChange({ type: 'addLearner', node: '4' }), dropped('conf-change-pending'));
  net.hold = false;
  net.deliverHeld();
  net.settle();
  assert.equal(n.status().applied, 3);
  n.proposeConfChange({ type: 'addLearner', node: '4' });
  net.settle();
  assert.deepEqual(n.status().conf.learners, ['4']);
});

test('invalid membership changes throw an Error (not a retryable ProposalDropped)', () => {
  const net = new Network(ids(3), { config: plain, learners: [] });
  assert.equal(net.elect('1'), Role.Leader);
  const bad: ConfChange[] = [
    { type: 'addLearner', node: '2' },
    { type: 'addVoter', node: '3' },
    { type: 'promote', node: '3' },
    { type: 'promote', node: '9' },
    { type: 'remove', node: '9' },
  ];
  for (const cc of bad) {
    assert.throws(() => net.get('1').proposeConfChange(cc), (e: unknown) => e instanceof Error && !(e instanceof ProposalDropped) && /invalid membership change/.test(e.message), JSON.stringify(cc));
  }
  assert.equal(net.get('1').status().lastIndex, 1, 'nothing was appended');
  const solo = new Network(['1'], { config: plain });
  assert.equal(solo.elect('1'), Role.Leader);
  assert.throws(() => solo.get('1').proposeConfChange({ type: 'remove', node: '1' }), /last voter/);
});

test('conf changes are proposed on the leader only', () => {
  const net = new Network(ids(3), { config: plain });
  assert.throws(() => net.get('2').proposeConfChange({ type: 'addLearner', node: '4' }), dropped('no-leader'));
  assert.equal(net.elect('1'), Role.Leader);
  assert.throws(() => net.get('2').proposeConfChange({ type: 'addLearner', node: '4' }), dropped('not-leader'));
});

test('a node does not campaign while a committed conf change is not yet applied', () => {
  const cc = { index: 2, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type: 'remove', node: '1' }) };
  const s = new Solo('1', stateWith({ voters: ids(3), learners: [] }, { term: 1, entries: [ent(1, 1), cc], commit: 2, applied: 1 }), plain);
  s.node.campaign();
  assert.equal(s.status().role, Role.Follower, 'its outcome could change who may vote');
  s.drain(); // applies the removal
  assert.deepEqual(s.status().conf.voters, ['2', '3']);
  s.node.campaign();
  assert.equal(s.status().role, Role.Follower, 'and now it is no longer a voter');
});
