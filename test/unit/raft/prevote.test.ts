// Pre-vote (dissertation §9.6): a node first asks whether it could win, without touching any term,
// so a node that was cut off cannot disrupt a working leader when it comes back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role, type RaftConfig } from '../../../main/raft/types.js';
import { Network, Solo, ids, logOfTerms, stateWith, text } from './harness.js';

const preVoteOnly: Partial<RaftConfig> = { preVote: true, checkQuorum: false };
const conf3 = { voters: ids(3), learners: [] };

test('pre-vote: campaigning asks for pre-votes for term+1 and changes nothing durable', () => {
  const s = new Solo('1', stateWith(conf3, { term: 3, vote: '2', entries: logOfTerms(1, 3) }), preVoteOnly);
  s.node.campaign();
  const rd = s.node.ready();
  assert.equal(rd.hardState, null, 'neither term nor vote changes');
  assert.equal(rd.softState?.role, Role.PreCandidate);
  assert.equal(rd.softState?.term, 3);
  const reqs = rd.messages.filter((m) => m.type === MessageType.PreVote);
  assert.deepEqual(reqs.map((m) => m.to).sort(), ['2', '3']);
  for (const m of reqs) assert.deepEqual([m.term, m.index, m.logTerm], [4, 2, 3], 'asks for term+1 with its last log position');
  assert.equal(rd.messages.some((m) => m.type === MessageType.Vote), false, 'no real vote requested yet');
  s.node.advance(rd);
  assert.equal(s.status().term, 3);
  assert.equal(s.status().vote, '2');
});

test('pre-vote: a voter grants a pre-vote in the asked term without changing its own term or vote', () => {
  const s = new Solo('2', stateWith(conf3, { term: 3, vote: '3', entries: logOfTerms(1, 3) }), preVoteOnly);
  s.node.step({ type: MessageType.PreVote, from: '1', to: '2', term: 4, index: 2, logTerm: 3, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null });
  const rd = s.node.ready();
  assert.equal(rd.hardState, null);
  assert.equal(rd.messages.length, 1);
  const resp = rd.messages[0];
  assert.equal(resp?.type, MessageType.PreVoteResp);
  assert.equal(resp?.reject, false);
  assert.equal(resp?.term, 4, 'answered in the term asked for');
  s.node.advance(rd);
  assert.deepEqual([s.status().term, s.status().vote], [3, '3']);
  // …and refuses a pre-candidate whose log is behind (§5.4.1 applies to pre-votes too).
  const out = s.step({ type: MessageType.PreVote, from: '1', term: 4, index: 5, logTerm: 2 });
  assert.equal(out[0]?.type, MessageType.PreVoteResp);
  assert.equal(out[0]?.reject, true);
  assert.equal(s.status().term, 3);
});

test('pre-vote: winning the pre-vote starts the real election in term+1; losing it leaves the term alone', () => {
  const win = new Solo('1', stateWith(conf3, { term: 3 }), preVoteOnly);
  win.node.campaign();
  win.drain();
  const out = win.step({ type: MessageType.PreVoteResp, from: '2', term: 4 });
  assert.equal(win.status().role, Role.Candidate);
  assert.equal(win.status().term, 4);
  assert.deepEqual(win.hard, { term: 4, vote: '1', commit: 0 });
  assert.deepEqual(out.filter((m) => m.type === MessageType.Vote).map((m) => [m.to, m.term]).sort(), [['2', 4], ['3', 4]]);

  const lose = new Solo('1', stateWith(conf3, { term: 3 }), preVoteOnly);
  lose.node.campaign();
  lose.drain();
  lose.step({ type: MessageType.PreVoteResp, from: '2', term: 3, reject: true });
  lose.step({ type: MessageType.PreVoteResp, from: '3', term: 3, reject: true });
  assert.equal(lose.status().role, Role.Follower);
  assert.equal(lose.status().term, 3);
});

test('pre-vote: a pre-candidate that hears from a leader of its term becomes its follower', () => {
  const s = new Solo('1', stateWith(conf3, { term: 3 }), preVoteOnly);
  s.node.campaign();
  s.drain();
  s.step({ type: MessageType.Heartbeat, from: '2', term: 3 });
  assert.equal(s.status().role, Role.Follower);
  assert.equal(s.status().leader, '2');
  assert.equal(s.status().term, 3);
});

test('pre-vote: a partitioned node keeps its term however long it is cut off', () => {
  const net = new Network(ids(3), { config: preVoteOnly });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('3');
  net.tick('3', 200); // ten or more election timeouts
  const st = net.get('3').status();
  assert.equal(st.role, Role.PreCandidate);
  assert.equal(st.term, 1);
  assert.equal(net.testNode('3').hard.term, 1, 'nothing new persisted');
  assert.ok(net.delivered.filter((m) => m.from === '3' && m.type === MessageType.PreVote).length >= 20, 'it did keep trying');
});

/** A node cut off for a long time rejoins; returns the leader and the terms afterwards. */
function rejoin(cfg: Partial<RaftConfig>): { leader: string | null; terms: number[]; caughtUp: boolean } {
  const net = new Network(ids(3), { config: cfg });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').propose(text('before'));
  net.settle();
  net.isolate('3');
  for (let i = 0; i < 100; i++) {
    net.tickAll();
    if (i === 50) net.get('1').propose(text('during'));
  }
  net.settle();
  net.heal();
  net.tickAll(5);
  const terms = ids(3).map((id) => net.get(id).status().term);
  const caughtUp = net.get('3').status().commit === net.get('1').status().commit && net.get('1').status().commit === 3;
  return { leader: net.leader(), terms, caughtUp };
}

test('pre-vote: a partitioned node that rejoins does not disrupt the leader', () => {
  assert.deepEqual(rejoin(preVoteOnly), { leader: '1', terms: [1, 1, 1], caughtUp: true });
  // Without pre-vote the rejoining node has raised its term and forces a new election: the
  // check above is what pre-vote buys.
  const plain = rejoin({ preVote: false, checkQuorum: false });
  assert.ok((plain.terms[0] ?? 0) > 1, `terms ${plain.terms.join(',')}`);
});

test('pre-vote: a node with a stale log cannot win even the pre-vote; an up-to-date one is elected', () => {
  const net = new Network(ids(3), { config: preVoteOnly });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('3');
  net.get('1').propose(text('x'));
  net.settle();
  assert.equal(net.get('2').status().commit, 2);
  // The leader dies; 3 (missing index 2) comes back and campaigns first.
  net.heal();
  net.isolate('1');
  assert.equal(net.elect('3'), Role.PreCandidate, '2 refuses the pre-vote (1 does not answer)');
  assert.equal(net.delivered.filter((m) => m.type === MessageType.PreVoteResp && m.from === '2' && m.reject).length, 1);
  assert.equal(net.get('3').status().term, 1);
  assert.equal(net.get('2').status().term, 1);
  assert.equal(net.elect('2'), Role.Leader);
  assert.equal(net.get('2').status().term, 2);
  assert.equal(net.get('3').status().lastIndex, 3, '3 received the committed entry and the new no-op');
});

test('pre-vote: a pre-candidate refused by a node of a higher term adopts that term', () => {
  const s = new Solo('1', stateWith(conf3, { term: 3 }), preVoteOnly);
  s.node.campaign();
  s.drain();
  s.step({ type: MessageType.PreVoteResp, from: '2', term: 7, reject: true });
  assert.deepEqual([s.status().role, s.status().term], [Role.Follower, 7]);
  assert.equal(s.hard.term, 7);
});
