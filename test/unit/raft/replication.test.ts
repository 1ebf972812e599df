// Log replication flow control: batching, pipelining with a bounded in-flight window, recovery of
// lost Apps, fast backtracking over divergent logs, and the uncommitted-bytes bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LostLogError, MessageType, ProposalDropped, Role, type Message, type RaftConfig } from '../../../main/raft/types.js';
import { Network, Solo, ids, logOfTerms, stateWith, str, text } from './harness.js';

const plain: Partial<RaftConfig> = { preVote: false, checkQuorum: false };
const bytesOf = (m: Message) => m.entries.reduce((n, e) => n + e.data.length, 0);
const appsTo = (msgs: readonly Message[], to: string) => msgs.filter((m) => m.type === MessageType.App && m.to === to);
const ten = (i: number) => text(`entry-${String(i).padStart(4, '0')}`); // 10 bytes

test('batching: a lagging follower gets many entries per App, each App within maxMsgBytes', () => {
  const net = new Network(ids(3), { config: { ...plain, maxMsgBytes: 100 } });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('2');
  for (let i = 0; i < 30; i++) net.get('1').propose(ten(i));
  net.settle();
  assert.equal(net.get('1').status().commit, 31, 'committed by 1 and 3');
  net.heal();
  const from = net.delivered.length;
  net.tick('1'); // heartbeat → 2 answers → the leader finds where 2 stands and streams the rest
  const apps = appsTo(net.delivered.slice(from), '2').filter((m) => m.entries.length > 0);
  assert.deepEqual(apps.map((m) => m.entries.length), [10, 10, 10], '30 entries of 10 bytes in three Apps of 100 bytes');
  for (const m of apps) assert.ok(bytesOf(m) <= 100);
  assert.deepEqual(apps.flatMap((m) => m.entries.map((e) => e.index)), Array.from({ length: 30 }, (_, i) => i + 2));
  assert.equal(net.get('2').status().commit, 31);
});

test('batching: an App always carries at least one entry, even one larger than maxMsgBytes', () => {
  const net = new Network(ids(3), { config: { ...plain, maxMsgBytes: 4 } });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').propose(text('a larger entry'));
  net.settle();
  assert.equal(net.get('2').status().commit, 2);
});

test('batching: proposeBatch on a follower travels as one Prop and one App per follower', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  const from = net.delivered.length;
  net.get('3').proposeBatch(Array.from({ length: 20 }, (_, i) => ten(i)));
  net.settle();
  const sent = net.delivered.slice(from);
  assert.equal(sent.filter((m) => m.type === MessageType.Prop).length, 1);
  assert.deepEqual(appsTo(sent, '2').map((m) => m.entries.length).filter((n) => n > 0), [20]);
  assert.deepEqual(net.testNode('2').applied.slice(1).map((e) => str(e.data)), Array.from({ length: 20 }, (_, i) => str(ten(i))));
});

/** A leader of term 1 over 3 nodes whose followers are in replicate state; messages are then held. */
function pipelined(cfg: Partial<RaftConfig>): Network {
  const net = new Network(ids(3), { config: { ...plain, ...cfg } });
  assert.equal(net.elect('1'), Role.Leader);
  for (const p of net.get('1').status().progress) if (p.id !== '1') assert.equal(p.state, 'replicate');
  net.hold = true;
  return net;
}

test('pipelining: up to maxInflightMsgs Apps go out before any ack, then the leader waits', () => {
  const net = pipelined({ maxInflightMsgs: 3 });
  for (let i = 0; i < 5; i++) net.get('1').propose(ten(i));
  net.settle();
  assert.deepEqual(appsTo(net.held, '2').map((m) => m.entries.map((e) => e.index)), [[2], [3], [4]], 'three in flight, not waiting for acks');
  assert.equal(appsTo(net.held, '3').length, 3);
  const p2 = net.get('1').status().progress.find((p) => p.id === '2');
  assert.deepEqual([p2?.match, p2?.next], [1, 5]);
  // One App lands and is acknowledged: exactly one slot frees up, and one App carries both
  // entries that were waiting.
  net.deliverHeld((m) => m.to === '2' && m.entries[0]?.index === 2);
  net.settle();
  assert.equal(net.deliverHeld((m) => m.type === MessageType.AppResp && m.from === '2'), 1);
  net.settle();
  assert.deepEqual(appsTo(net.held, '2').map((m) => m.entries.map((e) => e.index)), [[3], [4], [5, 6]]);
  assert.equal(appsTo(net.held, '3').length, 3, '3 is still waiting');
  assert.equal(net.get('1').status().commit, 2, 'index 2 committed by 1 and 2');
  net.hold = false;
  while (net.held.length > 0) {
    net.deliverHeld();
    net.settle();
  }
  for (const id of ids(3)) assert.equal(net.get(id).status().commit, 6, `node ${id}`);
});

test('pipelining: the in-flight bytes bound pauses the stream as well', () => {
  const net = pipelined({ maxInflightBytes: 25 });
  for (let i = 0; i < 5; i++) net.get('1').propose(ten(i));
  net.settle();
  // 10, 20 bytes in flight: room for more; 30 ≥ 25: full.
  assert.equal(appsTo(net.held, '2').length, 3);
  assert.equal(appsTo(net.held, '3').length, 3);
});

test('pipelining: Apps lost on the way do not stall the follower (heartbeat answers reopen the window)', () => {
  const net = new Network(ids(3), { config: { ...plain, maxInflightMsgs: 2 } });
  assert.equal(net.elect('1'), Role.Leader);
  net.drop = (m) => m.type === MessageType.App && m.to === '2';
  for (let i = 0; i < 6; i++) net.get('1').propose(ten(i));
  net.settle();
  assert.equal(net.get('2').status().lastIndex, 1, 'everything to 2 was lost');
  assert.equal(net.get('1').status().commit, 7, '1 and 3 commit');
  net.drop = null;
  net.tick('1', 3);
  assert.equal(net.get('2').status().lastIndex, 7);
  assert.equal(net.get('2').status().commit, 7);
});

/**
 * A follower whose log diverges from the leader's over many entries. Returns how many times the
 * follower rejected an App before its log matched.
 */
function backtrack(leaderTerms: number[], followerTerms: number[]): { rejections: number; leaderLog: string[]; followerLog: string[] } {
  const conf = { voters: ids(3), learners: [] };
  const term = Math.max(...leaderTerms, ...followerTerms);
  const net = new Network([]);
  net.add('1', stateWith(conf, { term, entries: logOfTerms(...leaderTerms), commit: 1 }), plain, 1);
  net.add('2', stateWith(conf, { term, entries: logOfTerms(...followerTerms), commit: 1 }), plain, 2);
  net.add('3', stateWith(conf, { term, entries: logOfTerms(...leaderTerms), commit: 1 }), plain, 3);
  assert.equal(net.elect('1'), Role.Leader);
  const rejections = net.delivered.filter((m) => m.type === MessageType.AppResp && m.from === '2' && m.reject).length;
  return { rejections, leaderLog: net.logOf('1'), followerLog: net.logOf('2') };
}

const repeat = (term: number, n: number) => Array<number>(n).fill(term);

test('fast backtracking: a long divergent suffix is skipped a whole term per round trip', () => {
  const cases: [string, number[], number[], number][] = [
    // [what, leader log terms, follower log terms, most rejections allowed]
    ['follower has 100 entries of a stale term', [1, ...repeat(3, 50)], [1, ...repeat(2, 100)], 1],
    ['follower is 50 entries behind', [1, ...repeat(3, 50)], [1], 1],
    ['several divergent terms', [1, ...repeat(2, 10), ...repeat(4, 30)], [1, ...repeat(2, 20), ...repeat(3, 20), ...repeat(3, 20)], 1],
    ['follower ahead in a stale term, behind in the leader\'s', [1, ...repeat(2, 5), ...repeat(5, 40)], [1, ...repeat(2, 5), ...repeat(3, 60), ...repeat(4, 30)], 1],
  ];
  for (const [what, leader, follower, most] of cases) {
    const r = backtrack(leader, follower);
    assert.deepEqual(r.followerLog, r.leaderLog, what);
    assert.ok(r.rejections <= most, `${what}: ${r.rejections} rejections`);
  }
});

test('flow control: proposals are refused while too many uncommitted bytes are in the log', () => {
  const net = new Network(ids(3), { config: { ...plain, maxUncommittedBytes: 100 } });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('1');
  for (let i = 0; i < 10; i++) net.get('1').propose(ten(i)); // exactly 100 bytes
  assert.throws(() => net.get('1').propose(ten(10)), (e: unknown) => e instanceof ProposalDropped && e.reason === 'too-many-uncommitted');
  net.heal();
  net.tick('1');
  assert.equal(net.get('1').status().commit, 11);
  net.get('1').propose(ten(11)); // room again
  net.settle();
  assert.equal(net.get('1').status().commit, 12);
});

test('proposals: a follower forwards them to the leader; without a known leader they are refused', () => {
  const net = new Network(ids(3), { config: plain });
  assert.throws(() => net.get('2').propose(text('x')), (e: unknown) => e instanceof ProposalDropped && e.reason === 'no-leader');
  assert.equal(net.elect('1'), Role.Leader);
  net.get('2').propose(text('via 2'));
  net.settle();
  for (const id of ids(3)) assert.deepEqual(net.testNode(id).applied.slice(1).map((e) => str(e.data)), ['via 2']);
});

test('reportUnreachable: the leader stops streaming to that follower and probes again', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  const state = () => net.get('1').status().progress.find((p) => p.id === '2')?.state;
  assert.equal(state(), 'replicate');
  net.get('1').reportUnreachable('2');
  assert.equal(state(), 'probe');
  net.get('1').propose(text('x'));
  net.settle();
  assert.equal(state(), 'replicate', 'an answer returns it to replicate');
  assert.equal(net.get('2').status().commit, 2);
});

test('a stale rejection (for an index the follower has since acknowledged) changes nothing', () => {
  const s = new Solo('1', stateWith({ voters: ids(3), learners: [] }), plain);
  s.node.campaign();
  s.drain();
  s.step({ type: MessageType.VoteResp, from: '2', term: 1 });
  s.step({ type: MessageType.AppResp, from: '2', term: 1, index: 1 });
  for (let i = 0; i < 3; i++) s.node.propose(ten(i));
  s.drain();
  s.step({ type: MessageType.AppResp, from: '2', term: 1, index: 4 });
  const before = s.status().progress.find((p) => p.id === '2');
  assert.deepEqual([before?.match, before?.next, before?.state], [4, 5, 'replicate']);
  const out = s.step({ type: MessageType.AppResp, from: '2', term: 1, index: 2, reject: true, rejectHint: 1, logTerm: 1 });
  assert.deepEqual(out, [], 'nothing resent');
  assert.deepEqual(s.status().progress.find((p) => p.id === '2'), before);
});

test('commit notice: a follower whose log matches commits up to the notice and answers nothing', () => {
  const s = new Solo('2', stateWith({ voters: ids(3), learners: [] }, { term: 1, entries: logOfTerms(1, 1, 1), commit: 1, applied: 1 }), plain);
  const out = s.step({ type: MessageType.Commit, from: '1', term: 1, index: 2, logTerm: 1, commit: 3 });
  assert.equal(s.status().commit, 2, 'not past the last entry the leader vouched for (2), though its commit is 3');
  assert.deepEqual(s.applied.map((e) => e.index), [2]);
  assert.deepEqual(out, [], 'a Commit is never answered');
  assert.equal(s.node.status().leader, '1', 'it comes from the leader of the term');
});

test('commit notice: a follower whose log differs there ignores it (no commit, no answer)', () => {
  const s = new Solo('2', stateWith({ voters: ids(3), learners: [] }, { term: 2, entries: logOfTerms(1, 1, 1), commit: 1 }), plain);
  const out = s.step({ type: MessageType.Commit, from: '1', term: 2, index: 3, logTerm: 2, commit: 3 });
  assert.equal(s.status().commit, 1, 'entry 3 is of term 1 here, not 2: it may be replaced, so not committed');
  assert.deepEqual(out, []);
  s.step({ type: MessageType.Commit, from: '1', term: 2, index: 5, logTerm: 2, commit: 5 });
  assert.equal(s.status().commit, 1, 'an index past the log is ignored too');
});

test('commit notice: a follower still owed entries gets them with the commit; one that holds everything gets a Commit', () => {
  const net = pipelined({ maxInflightMsgs: 1 });
  net.get('1').propose(text('a')); // 2: goes to both
  net.settle();
  net.get('1').propose(text('b')); // 3: waits, one App in flight per follower
  net.settle();
  assert.equal(net.deliverHeld((m) => m.type === MessageType.App && m.to === '2'), 1);
  net.settle();
  assert.equal(net.deliverHeld((m) => m.type === MessageType.AppResp && m.from === '2'), 1);
  net.settle(); // "a" commits: 2 is owed "b", 3 has "a" in flight
  assert.equal(net.get('1').status().commit, 2);
  assert.deepEqual(net.held.filter((m) => m.to === '2').map((m) => [m.type, m.entries.map((e) => e.index), m.commit]), [[MessageType.App, [3], 2]]);
  assert.deepEqual(net.held.filter((m) => m.type === MessageType.Commit), [], 'no Commit while entries are owed');
  net.deliverHeld((m) => m.to === '2');
  net.settle();
  assert.equal(net.deliverHeld((m) => m.type === MessageType.AppResp && m.from === '2'), 1);
  net.settle(); // "b" commits: 2 has been sent everything
  const commits = net.held.filter((m) => m.type === MessageType.Commit);
  assert.deepEqual(commits.map((m) => [m.to, m.index, m.logTerm, m.commit]), [['2', 3, 1, 3]]);
  net.deliverHeld((m) => m.type === MessageType.Commit);
  net.settle();
  assert.equal(net.get('2').status().commit, 3);
  assert.deepEqual(net.held.filter((m) => m.from === '2'), [], '2 answered nothing');
});

// ---- deferred commit notices (RaftConfig.deferCommitNotices, as the peer runs the core) ----------

const commitsIn = (msgs: readonly Message[]) => msgs.filter((m) => m.type === MessageType.Commit).map((m) => [m.to, m.commit]);
const commitOf = (net: Network, id: string) => net.get(id).status().commit;

/** A leader of term 1 over 3 nodes that defers commit notices, with its no-op known everywhere. */
function deferring(): Network {
  const net = new Network(ids(3), { config: { ...plain, deferCommitNotices: true } });
  assert.equal(net.elect('1'), Role.Leader);
  net.get('1').flushCommitNotices();
  net.settle();
  assert.deepEqual([commitOf(net, '2'), commitOf(net, '3')], [1, 1]);
  return net;
}

test('deferred commit notice: idle followers learn a commit from the next App, or from the flush', () => {
  const net = deferring();
  let from = net.delivered.length;
  net.get('1').propose(text('a')); // 2
  net.settle();
  assert.equal(commitOf(net, '1'), 2);
  assert.deepEqual(commitsIn(net.delivered.slice(from)), [], 'no Commit yet');
  assert.deepEqual([commitOf(net, '2'), commitOf(net, '3')], [1, 1], 'the followers do not know yet');
  assert.equal(net.get('1').commitNoticePending(), true);
  net.get('1').propose(text('b')); // 3: its Apps carry commit 2
  net.settle();
  assert.deepEqual(commitsIn(net.delivered.slice(from)), []);
  assert.deepEqual([commitOf(net, '2'), commitOf(net, '3')], [2, 2], 'told by the next App');
  from = net.delivered.length;
  net.get('1').flushCommitNotices();
  net.settle();
  assert.deepEqual(commitsIn(net.delivered.slice(from)), [['2', 3], ['3', 3]]);
  assert.deepEqual([commitOf(net, '2'), commitOf(net, '3')], [3, 3]);
  assert.equal(net.get('1').commitNoticePending(), false);
  from = net.delivered.length;
  net.get('1').flushCommitNotices();
  net.settle();
  assert.deepEqual(net.delivered.slice(from), [], 'nothing new to tell: nothing sent');
});

test('deferred commit notice: the tick flushes it when the driver does not', () => {
  const net = deferring();
  net.get('1').propose(text('a'));
  net.settle();
  const from = net.delivered.length;
  net.tick('1');
  assert.deepEqual(commitsIn(net.delivered.slice(from)), [['2', 2], ['3', 2]]);
  assert.deepEqual([commitOf(net, '2'), commitOf(net, '3')], [2, 2]);
});

test('deferred commit notice: a follower that forwarded the entry is told at once, the others later', () => {
  const net = deferring();
  const from = net.delivered.length;
  net.get('3').propose(text('from 3'));
  net.settle();
  assert.equal(commitOf(net, '1'), 2);
  assert.deepEqual(commitsIn(net.delivered.slice(from)), [['3', 2]]);
  assert.deepEqual([commitOf(net, '2'), commitOf(net, '3')], [1, 2], '3 applies its own write without waiting');
  assert.deepEqual(net.testNode('3').applied.map((e) => str(e.data)).slice(-1), ['from 3']);
});

test('deferred commit notice: a follower answered a read index has been told that index is committed', () => {
  const net = deferring();
  net.hold = true;
  net.get('1').propose(text('a')); // 2
  net.settle();
  net.deliverHeld((m) => m.type === MessageType.App);
  net.settle();
  assert.equal(net.deliverHeld((m) => m.type === MessageType.AppResp && m.from === '3'), 1);
  net.settle(); // 2 commits by 1 and 3; 2's acknowledgement is still on its way
  assert.equal(commitOf(net, '1'), 2);
  net.get('2').readIndex('r');
  net.settle();
  assert.equal(net.deliverHeld((m) => m.type === MessageType.ReadIndex), 1);
  net.settle();
  const beats = net.held.filter((m) => m.type === MessageType.Heartbeat);
  assert.deepEqual(beats.map((m) => [m.to, m.commit]), [['2', 1], ['3', 2]], 'the heartbeat to 2 cannot vouch for entry 2 yet');
  while (net.held.length > 0) {
    net.deliverHeld();
    net.settle();
  }
  assert.deepEqual(net.testNode('2').readStates, [{ index: 2, context: 'r' }]);
  assert.equal(commitOf(net, '2'), 2, 'told with the answer: its read does not wait for the next tick');
});

/**
 * A follower that comes back with a shorter log than it acknowledged (its data put back from an
 * older copy): three voters, 21 entries everywhere, then node 3 restarts holding only 10.
 */
function followerThatLostItsLog(): Network {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  for (let i = 0; i < 20; i++) net.get('1').propose(ten(i));
  net.settle();
  assert.deepEqual(net.get('1').status().progress.map((p) => p.match), [21, 21, 21]);
  const lost = net.testNode('3');
  for (const index of [...lost.persisted.keys()]) if (index > 10) lost.persisted.delete(index);
  lost.hard = { ...lost.hard, commit: 10 };
  lost.applied = lost.applied.filter((e) => e.index <= 10);
  net.restart('3', { voters: ids(3), learners: [] });
  return net;
}

test('lost log: a follower told by a heartbeat to commit past the end of its log raises LostLogError and changes nothing', () => {
  const net = followerThatLostItsLog();
  const before = net.get('3').status();
  assert.throws(() => net.tick('1', 3), (err: unknown) => {
    assert.ok(err instanceof LostLogError);
    assert.deepEqual([err.leader, err.heldByLeader, err.lastIndex], ['1', 21, 10]);
    assert.match(err.message, /entries it had confirmed are gone/);
    return true;
  });
  const after = net.get('3').status();
  assert.deepEqual([after.commit, after.lastIndex, after.term], [before.commit, before.lastIndex, before.term]);
});

test('lost log: the leader does not probe again at once a follower that refuses an entry it acknowledged', () => {
  const net = followerThatLostItsLog();
  net.drop = (m) => m.type === MessageType.Heartbeat && m.to === '3'; // only Apps reach it here
  const from = net.delivered.length;
  net.get('1').propose(ten(99));
  net.settle(); // before: App and refusal bounced between 1 and 3 without end ("did not settle")
  net.tick('1', 10);
  const refusals = net.delivered.slice(from).filter((m) => m.type === MessageType.AppResp && m.from === '3' && m.reject);
  assert.ok(refusals.length >= 1, 'node 3 refused the App after its match');
  assert.ok(refusals.length <= 12, `one probe per heartbeat at most, not a loop: ${refusals.length} refusals`);
  assert.equal(net.get('1').status().commit, 22, '1 and 2 go on committing');
});
