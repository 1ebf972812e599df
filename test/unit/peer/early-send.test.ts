// Which messages of a Ready leave before its log write is durable (main/peer/early-send.ts),
// checked on Readies made by the real consensus core.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appliesBeforeSync, splitBeforeSync } from '../../../main/peer/early-send.js';
import { RaftNode } from '../../../main/raft/node.js';
import { EntryType, MessageType, Role, type ConfState, type Message, type Ready } from '../../../main/raft/types.js';
import { config, emptyState, msg, text } from '../raft/harness.js';

const plain = { preVote: false, checkQuorum: false };

/** Takes and advances every pending Ready; returns them (the driver's persist/apply is not modelled). */
function drain(node: RaftNode): Ready[] {
  const out: Ready[] = [];
  while (node.hasReady()) {
    const rd = node.ready();
    out.push(rd);
    node.advance(rd);
  }
  return out;
}

/**
 * Node 1 elected leader of `conf` (a vote from 2 when it needs one), every other member having
 * acknowledged the leader's first entry (so that its appends flow); all Readies drained.
 */
function leaderOf(conf: ConfState): RaftNode {
  const node = new RaftNode(config('1', 1, plain), emptyState(conf));
  node.campaign();
  drain(node);
  if (conf.voters.length > 1) node.step(msg({ type: MessageType.VoteResp, from: '2', to: '1', term: 1 }));
  drain(node);
  assert.equal(node.status().role, Role.Leader);
  const index = node.status().lastIndex;
  for (const id of [...conf.voters, ...conf.learners]) {
    if (id !== '1') node.step(msg({ type: MessageType.AppResp, from: id, to: '1', term: 1, index }));
  }
  drain(node);
  return node;
}

const types = (ms: readonly Message[]) => ms.map((m) => `${m.type}:${m.to}`).sort();

test('a leader of several voters sends its appends before its own sync', () => {
  const node = leaderOf({ voters: ['1', '2', '3'], learners: [] });
  node.propose(text('hello'));
  const rd = node.ready();
  assert.equal(rd.entries.length, 1);
  const order = splitBeforeSync(rd, Role.Leader);
  assert.deepEqual(types(order.now), [`${MessageType.App}:2`, `${MessageType.App}:3`]);
  assert.deepEqual(order.afterSync, []);
});

test('a commit the leader reached alone (one voter) waits for the sync', () => {
  const node = leaderOf({ voters: ['1'], learners: ['2'] });
  node.propose(text('hello'));
  const rd = node.ready();
  const last = rd.entries[rd.entries.length - 1]?.index ?? 0;
  assert.equal(node.status().commit, last, 'the lone voter committed its own unsynced entry');
  const order = splitBeforeSync(rd, Role.Leader);
  assert.deepEqual(order.now, []);
  assert.ok(order.afterSync.some((m) => m.type === MessageType.App && m.commit >= last), 'the App revealing that commit waits');
});

test('a Ready that changes role or term, and every follower or candidate Ready, waits for the sync', () => {
  const candidate = new RaftNode(config('1', 1, plain), emptyState({ voters: ['1', '2', '3'], learners: [] }));
  candidate.campaign();
  const votes = candidate.ready();
  assert.ok(votes.messages.some((m) => m.type === MessageType.Vote));
  assert.deepEqual(splitBeforeSync(votes, Role.Candidate).now, [], 'a vote request before the self-vote is durable');
  candidate.advance(votes);
  candidate.step(msg({ type: MessageType.VoteResp, from: '2', to: '1', term: 1 }));
  const elected = candidate.ready();
  assert.notEqual(elected.softState, null);
  assert.deepEqual(splitBeforeSync(elected, Role.Candidate).now, []);
  assert.deepEqual(splitBeforeSync(elected, Role.Leader).now, [], 'the role changes in this Ready');

  const follower = new RaftNode(config('2', 2, plain), emptyState({ voters: ['1', '2', '3'], learners: [] }));
  follower.step(msg({ type: MessageType.App, from: '1', to: '2', term: 1, entries: [{ term: 1, index: 1, type: 0, data: text('x') }] }));
  const acks = follower.ready();
  assert.ok(acks.messages.some((m) => m.type === MessageType.AppResp && !m.reject));
  assert.deepEqual(splitBeforeSync(acks, Role.Follower), { now: [], afterSync: acks.messages });
});

/**
 * A leader of three proposes `first`, which 2 acknowledges while `second` is proposed: one Ready
 * then commits the first and writes the second. Returns it.
 */
function commitWhileWriting(first: (node: RaftNode) => void): Ready {
  const node = leaderOf({ voters: ['1', '2', '3'], learners: [] });
  first(node);
  const written = node.ready();
  node.advance(written);
  const firstIndex = written.entries[0]?.index ?? 0;
  node.step(msg({ type: MessageType.AppResp, from: '2', to: '1', term: 1, index: firstIndex }));
  node.propose(text('second'));
  const both = node.ready();
  assert.deepEqual([both.committed.map((e) => e.index), both.entries.map((e) => e.index)], [[firstIndex], [firstIndex + 1]]);
  return both;
}

test('committed entries that precede the new ones are applied before the sync; others wait', () => {
  const both = commitWhileWriting((node) => node.propose(text('first')));
  assert.equal(appliesBeforeSync(both), true);
  // The commit of "first" travels in Commit notices (both followers were sent it already): it
  // needs no unsynced entry, so they leave early with the appends of "second".
  const order = splitBeforeSync(both, Role.Leader);
  assert.deepEqual(types(order.now), [`${MessageType.App}:2`, `${MessageType.App}:3`, `${MessageType.Commit}:2`, `${MessageType.Commit}:3`].sort());
  assert.deepEqual(order.afterSync, []);

  const alone = leaderOf({ voters: ['1'], learners: [] });
  alone.propose(text('hello'));
  const own = alone.ready();
  assert.deepEqual(own.committed.map((e) => e.index), own.entries.map((e) => e.index), 'commits its own new entry');
  assert.equal(appliesBeforeSync(own), false);
});

test('a committed membership change waits for the sync even when it precedes the new entries', () => {
  const both = commitWhileWriting((node) => node.proposeConfChange({ type: 'addLearner', node: '4' }));
  assert.equal(both.committed[0]?.type, EntryType.ConfChange);
  assert.equal(appliesBeforeSync(both), false);
});
