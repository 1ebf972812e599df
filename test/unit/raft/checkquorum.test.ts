// Check-quorum and leader leases (dissertation §6.2): a leader that cannot reach a majority steps
// down, and followers that hear from a leader ignore vote requests (a lease on leadership).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role, type RaftConfig } from '../../../main/raft/types.js';
import { Network, Solo, ids, stateWith, text } from './harness.js';

const cq: Partial<RaftConfig> = { preVote: false, checkQuorum: true, electionTicks: 10 };
const conf3 = { voters: ids(3), learners: [] };

test('check-quorum: a leader cut off from a majority steps down within two election timeouts', () => {
  const net = new Network(ids(3), { config: cq });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('1');
  let ticks = 0;
  while (net.get('1').status().role === Role.Leader) {
    net.tick('1');
    ticks++;
    assert.ok(ticks <= 20, 'still leading after two election timeouts');
  }
  assert.ok(ticks >= 10, `stepped down after ${ticks} ticks, before one election timeout`);
  const st = net.get('1').status();
  assert.equal(st.role, Role.Follower);
  assert.equal(st.term, 1, 'stepping down does not change the term');
  assert.equal(st.leader, null);
});

test('check-quorum: a leader that reaches a majority stays leader', () => {
  const net = new Network(ids(5), { config: cq });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('4');
  net.isolate('5');
  net.tickAll(100);
  assert.equal(net.get('1').status().role, Role.Leader);
  assert.equal(net.get('1').status().term, 1);
});

test('check-quorum: only voters count; active learners do not keep a leader in place', () => {
  const net = new Network(ids(5), { config: cq, learners: ['4', '5'] });
  assert.equal(net.elect('1'), Role.Leader);
  net.cutLink('1', '2');
  net.cutLink('1', '3');
  net.tick('1', 20);
  assert.equal(net.get('1').status().role, Role.Follower);
});

/** A follower that heard from leader 1 in term 1; its own timeout is as long as possible (19). */
function follower(checkQuorum: boolean): Solo {
  const s = new Solo('2', stateWith(conf3, { term: 1, vote: '1' }), { ...cq, checkQuorum, random: () => 0.999 });
  s.step({ type: MessageType.Heartbeat, from: '1', term: 1 });
  assert.equal(s.status().leader, '1');
  return s;
}

const voteFrom3 = { type: MessageType.Vote, from: '3', term: 2, index: 0, logTerm: 0 } as const;

test('leader lease: a follower that hears from its leader ignores vote requests of higher terms', () => {
  const s = follower(true);
  assert.deepEqual(s.step(voteFrom3), [], 'no answer at all');
  assert.deepEqual([s.status().term, s.status().vote, s.status().leader], [1, '1', '1'], 'term, vote and leader kept');
  s.tick(9);
  assert.deepEqual(s.step(voteFrom3), [], 'still within the election timeout');
  s.tick(1); // a full election timeout without hearing from the leader: the lease is over
  const out = s.step(voteFrom3);
  assert.equal(out.length, 1);
  assert.equal(out[0]?.type, MessageType.VoteResp);
  assert.equal(out[0]?.reject, false);
  assert.deepEqual([s.status().term, s.status().vote], [2, '3']);
});

test('leader lease: without check-quorum there is no lease, and a forced (transfer) vote ignores it', () => {
  const noLease = follower(false);
  assert.equal(noLease.step(voteFrom3)[0]?.reject, false);
  assert.equal(noLease.status().term, 2);

  const s = follower(true);
  const out = s.step({ ...voteFrom3, context: 'transfer' });
  assert.equal(out[0]?.type, MessageType.VoteResp);
  assert.equal(out[0]?.reject, false);
  assert.equal(s.status().term, 2);
});

test('leader lease: a leader ignores a disruptive vote request and keeps its term', () => {
  const net = new Network(ids(3), { config: cq });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('3').campaign(); // as if 3 had missed the heartbeats
  net.settle();
  assert.equal(net.get('1').status().role, Role.Leader);
  assert.equal(net.get('1').status().term, 1);
  assert.equal(net.get('2').status().term, 1);
  assert.equal(net.get('3').status().role, Role.Candidate);
  assert.equal(net.delivered.filter((m) => m.type === MessageType.VoteResp).length, 2, 'only the two answers of the first election');
});

test('a deposed leader learns the new term from the answer to its stale heartbeat, and follows', () => {
  // Without check-quorum, an isolated leader keeps believing it leads.
  const net = new Network(ids(3), { config: { preVote: false, checkQuorum: false } });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('1');
  assert.equal(net.elect('2'), Role.Leader);
  net.get('2').propose(text('new'));
  net.settle();
  net.tick('1', 3);
  assert.equal(net.get('1').status().role, Role.Leader, 'still believes it leads (term 1)');
  net.heal();
  net.tick('1');
  assert.equal(net.get('1').status().role, Role.Follower);
  assert.equal(net.get('1').status().term, 2);
  net.tick('2');
  assert.equal(net.get('1').status().leader, '2');
  assert.equal(net.get('1').status().commit, 3, 'and catches up with the new leader');
});

test('check-quorum without pre-vote: a node that raised its term while cut off forces an election on return but cannot win it', () => {
  const net = new Network(ids(3), { config: cq });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('3');
  net.get('1').propose(text('x'));
  net.settle();
  net.tick('3', 60); // several elections of its own: its term climbs
  const stuck = net.get('3').status().term;
  assert.ok(stuck > 2, `3 is at term ${stuck}`);
  net.heal();
  net.tickAll(60);
  // 3's answer to a heartbeat carries its higher term: the leader steps down and a new election
  // follows; 3's log lacks index 2, so 1 or 2 wins a term above 3's.
  const leader = net.leader();
  assert.ok(leader === '1' || leader === '2', `leader ${leader}`);
  assert.ok(net.get(leader).status().term > stuck);
  for (const id of ids(3)) assert.equal(net.get(id).status().commit, net.get(leader).status().commit, `node ${id}`);
});
