// The Ready/advance contract between the core and its driver: what must be durable before a
// message goes out, committed entries handed out once, advance semantics, and restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeConfChange } from '../../../main/raft/confchange.js';
import { RaftNode } from '../../../main/raft/node.js';
import {
  EntryType, MessageType, Role, messageTypeNames,
  type Entry, type HardState, type Message, type NodeId, type RaftConfig, type Ready,
} from '../../../main/raft/types.js';
import { Network, Solo, config, ent, ids, logOfTerms, msg, seededRandom, stateWith, text } from './harness.js';

const plain: Partial<RaftConfig> = { preVote: false, checkQuorum: false };
const conf3 = { voters: ids(3), learners: [] };

/**
 * Installs a checker of the Ready contract on every node of `net`: every message in a Ready may
 * depend only on what is durable once that Ready's snapshot, entries and hard state are persisted;
 * committed entries are durable, committed, and handed out once, in order. Returns the violations.
 */
function watchContract(net: Network): string[] {
  const problems: string[] = [];
  const lastApplied = new Map<NodeId, number>();
  net.onReady = (id, rd) => {
    const t = net.testNode(id);
    const hard: HardState = rd.hardState ?? t.hard;
    const log = new Map(rd.snapshot !== null ? [] : t.persisted);
    const first = rd.entries[0];
    if (first !== undefined) for (const k of [...log.keys()]) if (k >= first.index) log.delete(k);
    for (const e of rd.entries) log.set(e.index, e);
    const snap = rd.snapshot ?? t.snapshots[t.snapshots.length - 1] ?? null;
    const snapIndex = snap?.meta.index ?? 0;
    const durable = (index: number, term?: number) =>
      index <= snapIndex || (log.has(index) && (term === undefined || log.get(index)?.term === term));
    const say = (m: Message, what: string) => problems.push(`${id}: ${messageTypeNames[m.type]} to ${m.to} (term ${m.term}): ${what}; durable ${JSON.stringify(hard)}`);
    for (const m of rd.messages) {
      // A message of an older term than the durable one was queued before the node moved on in
      // the same batch (e.g. an App queued by a leader that then granted a newer vote): it is
      // no different from a message delayed in the network, and the node can no longer act on
      // that term, so only its term is checked.
      if (m.term !== 0 && m.term < hard.term) continue;
      switch (m.type) {
        case MessageType.Vote:
          if (hard.term !== m.term || hard.vote !== id) say(m, 'self-vote not durable');
          break;
        case MessageType.VoteResp:
          if (!m.reject && (hard.term !== m.term || hard.vote !== m.to)) say(m, 'granted vote not durable');
          break;
        case MessageType.App:
          if (hard.term !== m.term) say(m, 'term not durable');
          for (const e of m.entries) if (!durable(e.index, e.term)) say(m, `entry ${e.index}@${e.term} not durable`);
          break;
        case MessageType.AppResp:
          if (!m.reject && m.index > 0 && !durable(m.index)) say(m, `acknowledges ${m.index}, not durable`);
          if (m.term > hard.term) say(m, 'term not durable');
          break;
        case MessageType.PreVote:
        case MessageType.PreVoteResp:
          break; // these speak for a future term on purpose
        default:
          if (m.term > hard.term) say(m, 'term not durable');
      }
    }
    let applied = lastApplied.get(id) ?? 0;
    if (rd.snapshot !== null) applied = rd.snapshot.meta.index;
    for (const e of rd.committed) {
      if (e.index !== applied + 1) problems.push(`${id}: applies ${e.index} after ${applied}`);
      if (e.index > hard.commit) problems.push(`${id}: applies ${e.index} beyond the durable commit ${hard.commit}`);
      if (!durable(e.index, e.term)) problems.push(`${id}: applies ${e.index}@${e.term}, not durable`);
      applied = e.index;
    }
    lastApplied.set(id, applied);
  };
  return problems;
}

/** Per index, the distinct (term, data) applied anywhere: more than one is a safety violation. */
function conflictingApplies(net: Network): number[] {
  const seen = new Map<number, Set<string>>();
  for (const t of net.nodes.values()) {
    for (const e of t.applied) {
      const s = seen.get(e.index) ?? new Set<string>();
      s.add(`${e.term}:${new TextDecoder().decode(e.data)}`);
      seen.set(e.index, s);
    }
  }
  return [...seen].filter(([, s]) => s.size > 1).map(([i]) => i);
}

test('ready: a granted vote goes out only in a Ready whose hard state records it', () => {
  const s = new Solo('2', stateWith(conf3, { term: 1 }), plain);
  s.node.step({ type: MessageType.Vote, from: '1', to: '2', term: 2, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null });
  const rd = s.node.ready();
  assert.equal(rd.messages[0]?.type, MessageType.VoteResp);
  assert.equal(rd.messages[0]?.reject, false);
  assert.deepEqual(rd.hardState, { term: 2, vote: '1', commit: 0 });
});

test('ready: a leader\'s App and a follower\'s ack travel in the Ready that persists their entries', () => {
  const leader = new Solo('1', stateWith(conf3, { term: 1, entries: logOfTerms(1), commit: 1 }), plain);
  leader.node.campaign();
  leader.drain();
  leader.step({ type: MessageType.VoteResp, from: '2', term: 2 });
  leader.step({ type: MessageType.AppResp, from: '2', term: 2, index: 2 });
  leader.node.propose(text('x'));
  const rd = leader.node.ready();
  assert.deepEqual(rd.entries.map((e) => e.index), [3]);
  assert.ok(rd.messages.some((m) => m.type === MessageType.App && m.entries.some((e) => e.index === 3)));
  leader.node.advance(rd);

  const follower = new Solo('2', stateWith(conf3, { term: 2, entries: logOfTerms(1, 2), commit: 1, applied: 1 }), plain);
  follower.node.step({ type: MessageType.App, from: '1', to: '2', term: 2, index: 2, logTerm: 2, commit: 3, entries: [ent(3, 2, 'x')], reject: false, rejectHint: 0, context: '', snapshot: null });
  const frd = follower.node.ready();
  assert.deepEqual(frd.entries.map((e) => e.index), [3], 'persist the new entry…');
  assert.deepEqual(frd.messages.map((m) => [m.type, m.index]), [[MessageType.AppResp, 3]], '…before acknowledging it');
  assert.deepEqual(frd.hardState, { term: 2, vote: null, commit: 3 });
  assert.deepEqual(frd.committed.map((e) => e.index), [2, 3], 'and apply after persisting, in the same Ready');
});

test('ready: the contract holds for every Ready of an election, replication, partitions, transfer and snapshots', () => {
  const net = new Network(ids(5), { config: { preVote: true, checkQuorum: true } });
  const problems = watchContract(net);
  assert.equal(net.elect('1'), Role.Leader);
  for (let i = 0; i < 5; i++) net.get('1').propose(text(`a${i}`));
  net.settle();
  net.isolate('1');
  net.tickAll(40);
  const leader = net.leader();
  assert.ok(leader !== null && leader !== '1');
  net.get(leader).propose(text('b'));
  net.settle();
  net.get(leader).compact(net.get(leader).status().applied, text('snap'));
  net.heal();
  net.tickAll(5);
  net.get(leader).transferLeadership('1');
  net.tickAll(5);
  assert.equal(net.leader(), '1');
  net.get('1').propose(text('c'));
  net.tickAll(3);
  assert.ok(net.testNode('1').snapshots.length > 0, 'the old leader caught up from a snapshot');
  assert.deepEqual(problems, []);
  assert.deepEqual(conflictingApplies(net), []);
});

test('ready: the contract holds under a seeded schedule of faults and restarts', () => {
  for (const seed of [1, 2, 3, 4]) {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const net = new Network(ids(5), { config: { preVote: true, checkQuorum: true, maxInflightMsgs: 4, maxMsgBytes: 64 } });
    const problems = watchContract(net);
    let proposed = 0;
    for (let step = 0; step < 600; step++) {
      const r = rnd();
      const leader = net.leader();
      if (r < 0.6) net.tickAll();
      else if (r < 0.8 && leader !== null) {
        try {
          net.get(leader).propose(text(`s${seed}-${proposed++}`));
        } catch {
          // transferring or too much uncommitted: fine
        }
        net.settle();
      } else if (r < 0.85) net.isolate(pick(ids(5)));
      else if (r < 0.9) net.heal();
      else if (r < 0.93 && leader !== null) {
        const s = net.get(leader).status();
        if (s.applied > s.snapshotIndex) net.get(leader).compact(s.applied, text(`snap@${s.applied}`));
      } else if (r < 0.96) net.restart(pick(ids(5)), { voters: ids(5), learners: [] });
      else if (leader !== null) {
        net.get(leader).transferLeadership(pick(ids(5)));
        net.settle();
      }
    }
    net.heal();
    net.tickAll(60);
    assert.deepEqual(problems, [], `seed ${seed}`);
    assert.deepEqual(conflictingApplies(net), [], `seed ${seed}`);
    const commits = ids(5).map((id) => net.get(id).status().commit);
    assert.ok(commits.every((c) => c === commits[0]) && (commits[0] ?? 0) > 10, `seed ${seed}: commits ${commits.join(',')}`);
  }
});

test('ready: committed entries are handed out once; advance() must get the pending Ready', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  const n = net.get('1');
  n.propose(text('x'));
  const rd = n.ready();
  assert.throws(() => n.ready(), /before advance/);
  assert.throws(() => n.advance({ ...rd }), /not the pending one/);
  for (const m of rd.messages) net.deliver(m);
  n.advance(rd);
  net.settle();
  const counts = new Map<number, number>();
  for (const t of net.nodes.values()) for (const e of t.applied) counts.set(e.index, (counts.get(e.index) ?? 0) + 1);
  assert.deepEqual([...counts], [[1, 3], [2, 3]], 'each entry applied once on each of 3 nodes');
  assert.equal(n.hasReady(), false);
});

test('ready: after advance, nothing already handed out is handed out again', () => {
  const s = new Solo('1', stateWith({ voters: ['1'], learners: [] }), plain);
  s.node.campaign();
  const first = s.node.ready();
  assert.equal(first.softState?.role, Role.Leader);
  assert.deepEqual(first.hardState, { term: 1, vote: '1', commit: 1 });
  assert.deepEqual(first.entries.map((e) => e.index), [1]);
  assert.deepEqual(first.committed.map((e) => e.index), [1]);
  s.node.advance(first);
  assert.equal(s.node.hasReady(), false);
  s.node.propose(text('y'));
  const second = s.node.ready();
  assert.equal(second.softState, null, 'unchanged soft state is not repeated');
  assert.deepEqual(second.hardState, { term: 1, vote: '1', commit: 2 }, 'only because the commit moved');
  assert.deepEqual(second.entries.map((e) => e.index), [2]);
  assert.deepEqual(second.committed.map((e) => e.index), [2]);
  s.node.advance(second);
  assert.equal(s.node.hasReady(), false);
  assert.equal(s.status().applied, 2);
});

test('ready: a follower\'s snapshot is installed before any later entry is applied', () => {
  const conf = conf3;
  const s = new Solo('3', stateWith(conf, { term: 1, entries: logOfTerms(1), commit: 1, applied: 1 }), plain);
  s.node.step({ type: MessageType.Snap, from: '1', to: '3', term: 1, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: { meta: { index: 5, term: 1, conf }, data: text('s') } });
  const rd = s.node.ready();
  assert.equal(rd.snapshot?.meta.index, 5);
  assert.deepEqual(rd.committed, [], 'nothing to apply before the snapshot is installed');
  assert.deepEqual(rd.messages.map((m) => [m.type, m.index]), [[MessageType.AppResp, 5]]);
  s.node.advance(rd);
  assert.deepEqual([s.status().applied, s.status().commit, s.status().firstIndex], [5, 5, 6]);
  s.step({ type: MessageType.App, from: '1', term: 1, index: 5, logTerm: 1, entries: [ent(6, 1, 'z')], commit: 6 });
  assert.deepEqual(s.applied.map((e) => e.index), [6]);
});

function restarted(hard: HardState, entries: Entry[], applied: number, voters = ids(3)): RaftNode {
  return new RaftNode(config('2', 1, plain), { hardState: hard, snapshot: null, conf: { voters, learners: [] }, entries, applied });
}

test('restart: a node restarted with its hard state does not vote twice in a term', () => {
  const n = restarted({ term: 4, vote: '1', commit: 0 }, [], 0);
  assert.deepEqual([n.status().term, n.status().vote], [4, '1']);
  n.step({ type: MessageType.Vote, from: '3', to: '2', term: 4, index: 9, logTerm: 9, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null });
  const rd = n.ready();
  assert.deepEqual(rd.messages.map((m) => [m.type, m.reject]), [[MessageType.VoteResp, true]]);
  assert.equal(rd.hardState, null);
});

test('restart: only entries after `applied` are handed out again', () => {
  const n = restarted({ term: 1, vote: '1', commit: 5 }, logOfTerms(1, 1, 1, 1, 1, 1), 3);
  assert.equal(n.hasReady(), true);
  const rd = n.ready();
  assert.deepEqual(rd.committed.map((e) => e.index), [4, 5], 'after applied (3) up to the durable commit (5)');
  assert.deepEqual(rd.entries, [], 'entries from storage are already durable');
  assert.equal(rd.hardState, null, 'and so is the hard state');
  assert.deepEqual(rd.messages, []);
  n.advance(rd);
  assert.equal(n.hasReady(), false);
  // With a snapshot: the entries it covers are never handed out.
  const conf = conf3;
  const m = new RaftNode(config('2', 1, plain), {
    hardState: { term: 1, vote: null, commit: 6 }, conf, applied: 4,
    snapshot: { meta: { index: 4, term: 1, conf }, data: text('s') },
    entries: logOfTerms(1, 1, 1, 1, 1, 1).slice(4),
  });
  assert.deepEqual(m.ready().committed.map((e) => e.index), [5, 6]);
});

test('restart: membership changes up to `applied` are replayed; later ones wait to be re-applied', () => {
  const cc = (index: number, type: 'addLearner' | 'promote', node: string): Entry => ({ index, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type, node }) });
  const log = [ent(1, 1), cc(2, 'addLearner', '4'), cc(3, 'promote', '4')];
  const n = restarted({ term: 1, vote: null, commit: 3 }, log, 2);
  assert.deepEqual(n.status().conf, { voters: ids(3), learners: ['4'] });
  n.advance(n.ready()); // re-applies index 3
  assert.deepEqual(n.status().conf, { voters: [...ids(3), '4'], learners: [] });
});

test('restart: a network node restarted from what its driver persisted rejoins without breaking anything', () => {
  const net = new Network(ids(3), { config: plain });
  const problems = watchContract(net);
  assert.equal(net.elect('1'), Role.Leader);
  for (let i = 0; i < 3; i++) net.get('1').propose(text(`p${i}`));
  net.settle();
  const before = net.testNode('2').applied.length;
  net.restart('2', conf3);
  assert.deepEqual(net.get('2').status().term, 1);
  assert.deepEqual(net.get('2').status().vote, '1');
  net.get('1').propose(text('after restart'));
  net.settle();
  assert.equal(net.testNode('2').applied.length, before + 1, 'nothing applied twice');
  net.restart('1', conf3); // the leader too: it comes back as a follower of term 1
  assert.equal(net.get('1').status().role, Role.Follower);
  net.tickAll(30);
  assert.ok(net.leader() !== null);
  assert.deepEqual(problems, []);
  assert.deepEqual(conflictingApplies(net), []);
});

test('ready: the contract checker bites (a Ready that sends a vote before persisting it is caught)', () => {
  const net = new Network(ids(3), { config: plain });
  const problems = watchContract(net);
  const rd = { softState: null, hardState: null, snapshot: null, entries: [], committed: [], readStates: [],
    messages: [{ type: MessageType.VoteResp, from: '2', to: '1', term: 7, logTerm: 0, index: 0, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null }] } satisfies Ready;
  net.onReady?.('2', rd);
  assert.equal(problems.length, 1);
});

test('durableCommitted: while a Ready syncs, committed entries already stable are handed out once, never its own', () => {
  const n = restarted({ term: 1, vote: '1', commit: 0 }, logOfTerms(1, 1, 1), 0);
  n.step(msg({ type: MessageType.App, from: '1', to: '2', term: 1, index: 3, logTerm: 1, entries: [ent(4, 1), ent(5, 1)], commit: 1 }));
  const syncing = n.ready();
  assert.deepEqual([syncing.entries.map((e) => e.index), syncing.committed.map((e) => e.index)], [[4, 5], [1]]);
  assert.deepEqual(n.durableCommitted(), [], 'nothing committed beyond what the syncing Ready hands out');
  n.step(msg({ type: MessageType.Commit, from: '1', to: '2', term: 1, index: 5, logTerm: 1, commit: 5 }));
  assert.deepEqual(n.durableCommitted().map((e) => e.index), [2, 3], 'stable and committed; 4 and 5 wait for the sync');
  assert.deepEqual(n.durableCommitted(), [], 'handed out once');
  n.advance(syncing);
  assert.equal(n.status().applied, 3);
  const next = n.ready();
  assert.deepEqual(next.committed.map((e) => e.index), [4, 5], 'the rest after the sync, nothing twice');
  assert.equal(next.hardState?.commit, 5);
  n.advance(next);
  assert.equal(n.hasReady(), false);
});

test('durableCommitted: stops before a membership change, and gives nothing while a snapshot is pending', () => {
  const cc: Entry = { index: 3, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type: 'addLearner', node: '4' }) };
  const n = restarted({ term: 1, vote: '1', commit: 0 }, [ent(1, 1), ent(2, 1), cc, ent(4, 1)], 0);
  n.step(msg({ type: MessageType.Commit, from: '1', to: '2', term: 1, index: 4, logTerm: 1, commit: 4 }));
  assert.deepEqual(n.durableCommitted().map((e) => e.index), [1, 2]);
  assert.deepEqual(n.durableCommitted(), [], 'the conf change waits for a Ready (the core adopts it at advance)');
  const rd = n.ready();
  assert.deepEqual(rd.committed.map((e) => e.index), [3, 4]);
  n.advance(rd);
  assert.deepEqual(n.status().conf.learners, ['4']);

  const s = restarted({ term: 1, vote: '1', commit: 0 }, logOfTerms(1, 1), 0);
  const conf = conf3;
  s.step(msg({ type: MessageType.Snap, from: '1', to: '2', term: 1, snapshot: { meta: { index: 5, term: 1, conf }, data: text('s') } }));
  assert.deepEqual(s.durableCommitted(), [], 'a snapshot waits to be installed');
  const withSnap = s.ready();
  assert.deepEqual(s.durableCommitted(), [], 'nor while the Ready installing it syncs');
  s.advance(withSnap);
  assert.equal(s.status().applied, 5);
});
