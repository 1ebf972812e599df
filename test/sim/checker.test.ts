// Each checker fires on a hand-made history that breaks its rule and stays quiet on a good one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, MessageType, type Entry, type Message } from '../../main/raft/types.js';
import { Checker, type ViolationKind } from './checker.js';
import { MemoryStorage } from './storage.js';

const ent = (index: number, term: number, text = `${index}/${term}`): Entry => ({ index, term, type: EntryType.Normal, data: new TextEncoder().encode(text) });

function msg(type: MessageType, from: string, to: string, term: number, extra: Partial<Message> = {}): Message {
  return { type, from, to, term, logTerm: 0, index: 0, commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null, ...extra };
}

/** A disk holding `terms[i]` at index i + 1, with the given hard state. */
function disk(terms: number[], term = 0, vote: string | null = null, commit = 0): MemoryStorage {
  const d = new MemoryStorage();
  d.append(terms.map((t, i) => ent(i + 1, t)));
  d.hardState = { term, vote, commit };
  return d;
}

const kinds = (c: Checker): ViolationKind[] => c.violations.map((v) => v.kind);
const checker = () => new Checker(() => 'test');

test('election safety: a second leader in one term', () => {
  const c = checker();
  assert.equal(c.onLeader('n1', 2), true);
  assert.equal(c.onLeader('n1', 2), false);
  c.onLeader('n2', 3);
  assert.deepEqual(kinds(c), []);
  c.onSend(msg(MessageType.App, 'n3', 'n1', 2), disk([]));
  assert.deepEqual(kinds(c), ['election-safety']);
});

test('votes: one per term, durable before the grant leaves, never changed within a term', () => {
  const c = checker();
  c.onSend(msg(MessageType.VoteResp, 'n1', 'n2', 3), disk([], 3, 'n2'));
  c.onSend(msg(MessageType.VoteResp, 'n1', 'n3', 3, { reject: true }), disk([], 3, 'n2'));
  assert.deepEqual(kinds(c), []);
  c.onSend(msg(MessageType.VoteResp, 'n1', 'n3', 3), disk([], 3, 'n3'));
  assert.deepEqual(kinds(c), ['vote']);
  const d = checker();
  d.onSend(msg(MessageType.VoteResp, 'n1', 'n2', 4), disk([], 3, null));
  assert.deepEqual(kinds(d), ['vote'], 'granted before persisting');
  const e = checker();
  e.onHardState('n1', { term: 3, vote: 'n2', commit: 0 }, { term: 3, vote: null, commit: 0 }, disk([]));
  assert.deepEqual(kinds(e), ['vote'], 'forgot its vote');
});

test('durability: term and commit never go back, commit never passes the log', () => {
  const c = checker();
  c.onHardState('n1', { term: 3, vote: null, commit: 2 }, { term: 2, vote: null, commit: 1 }, disk([1, 1]));
  c.onHardState('n1', { term: 3, vote: null, commit: 2 }, { term: 3, vote: null, commit: 5 }, disk([1, 1]));
  assert.deepEqual(kinds(c), ['durability', 'durability', 'durability']);
});

test('log matching: one (index, term) position holds one entry after one term', () => {
  const c = checker();
  const a = disk([1, 1]);
  c.onPersistEntries('n1', a, [ent(3, 2)]);
  c.onPersistEntries('n2', disk([1, 1]), [ent(3, 2)]);
  assert.deepEqual(kinds(c), []);
  c.onPersistEntries('n3', disk([1, 1]), [ent(3, 2, 'other')]);
  c.onPersistEntries('n4', disk([1, 2]), [ent(3, 2)]);
  assert.deepEqual(kinds(c), ['log-matching', 'log-matching']);
});

test('a node never overwrites an entry it committed', () => {
  const c = checker();
  c.onPersistEntries('n1', disk([1, 1, 1], 1, null, 2), [ent(3, 2)]);
  assert.deepEqual(kinds(c), []);
  c.onPersistEntries('n1', disk([1, 1, 1], 1, null, 3), [ent(3, 2)]);
  assert.deepEqual(kinds(c), ['durability']);
});

test('leader completeness: a new leader must hold every committed entry', () => {
  const c = checker();
  const d = disk([1, 1, 2]);
  c.onHardState('n1', { term: 2, vote: null, commit: 0 }, { term: 2, vote: null, commit: 3 }, d);
  c.onBecomeLeader('n2', 3, disk([1, 1, 2, 2]));
  assert.deepEqual(kinds(c), []);
  c.onBecomeLeader('n3', 3, disk([1, 1, 3]));
  assert.deepEqual(kinds(c), ['leader-completeness']);
});

test('leader completeness covers entries committed in earlier terms only', () => {
  const c = checker();
  c.onHardState('n1', { term: 5, vote: null, commit: 0 }, { term: 5, vote: null, commit: 3 }, disk([1, 1, 5]));
  c.onBecomeLeader('n2', 4, disk([1, 1]));
  assert.deepEqual(kinds(c), [], 'a stale leader of term 4 (its last vote arrived late) need not hold term 5 commits');
  c.onBecomeLeader('n2', 6, disk([1, 1]));
  assert.deepEqual(kinds(c), ['leader-completeness']);
});

test('commit rule: a leader commits only an entry of its own term', () => {
  const c = checker();
  c.onLeaderCommit('n1', 3, 1, 3, disk([1, 2, 3]));
  assert.deepEqual(kinds(c), []);
  c.onLeaderCommit('n1', 3, 1, 2, disk([1, 2, 3]));
  assert.deepEqual(kinds(c), ['commit-rule']);
});

test('state machine safety: applied entries are the committed log, in order, within commit', () => {
  const c = checker();
  const d = disk([1, 1, 2]);
  c.onApply('n1', ent(1, 1), 0, 3, d);
  c.onApply('n1', ent(2, 1), 1, 3, d);
  assert.deepEqual(kinds(c), []);
  c.onApply('n1', ent(4, 2), 2, 3, d);
  assert.deepEqual(kinds(c), ['state-machine-safety', 'state-machine-safety', 'state-machine-safety'], 'out of order, beyond commit, not on its disk');
  const e = checker();
  e.onApply('n1', ent(1, 1), 0, 1, disk([1]));
  e.onApply('n2', ent(1, 1, 'different'), 0, 1, disk([1]));
  e.onApply('n3', ent(1, 2), 0, 1, disk([2]));
  assert.deepEqual(kinds(e), ['state-machine-safety', 'state-machine-safety']);
  const f = checker();
  f.onApply('n1', ent(1, 1), 0, 1, disk([]));
  assert.deepEqual(kinds(f), ['state-machine-safety'], 'an entry applied before its write is durable');
});

test('snapshots: never below applied, consistent with commits and with other states', () => {
  const c = checker();
  c.onHardState('n1', { term: 1, vote: null, commit: 0 }, { term: 1, vote: null, commit: 2 }, disk([1, 1]));
  c.onInstallSnapshot('n2', { meta: { index: 2, term: 1, conf: { voters: [], learners: [] } }, data: new Uint8Array() }, 1);
  c.onStateAt('n1', 2, 'aa');
  c.onStateAt('n2', 2, 'aa');
  assert.deepEqual(kinds(c), []);
  c.onInstallSnapshot('n3', { meta: { index: 2, term: 2, conf: { voters: [], learners: [] } }, data: new Uint8Array() }, 3);
  c.onStateAt('n3', 2, 'bb');
  assert.deepEqual(kinds(c), ['state-machine-safety', 'state-machine-safety', 'state-machine-safety']);
});

test('linearizable reads: a read index covers every commit known when the read was issued', () => {
  const c = checker();
  c.onHardState('n1', { term: 1, vote: null, commit: 0 }, { term: 1, vote: null, commit: 2 }, disk([1, 1]));
  c.onReadIssued('r1');
  c.onReadState('n2', { index: 2, context: 'r1' });
  assert.deepEqual(kinds(c), []);
  c.onReadState('n2', { index: 1, context: 'r1' });
  c.onReadState('n2', { index: 5, context: 'nobody-asked' });
  assert.deepEqual(kinds(c), ['linearizability', 'linearizability']);
});
