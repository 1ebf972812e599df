// The sim's disk and state machine: what survives a crash must be exactly what was persisted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeConfChange } from '../../main/raft/confchange.js';
import { EntryType, type Entry } from '../../main/raft/types.js';
import { commandId, encodeCommand } from './command.js';
import { SimStateMachine } from './state-machine.js';
import { MemoryStorage } from './storage.js';

const ent = (index: number, term: number, id = `c0:${index}`): Entry => ({ index, term, type: EntryType.Normal, data: encodeCommand(id, 3) });
const conf = { voters: ['n1', 'n2', 'n3'], learners: [] };

test('append replaces the suffix from the batch start and refuses gaps', () => {
  const s = new MemoryStorage();
  assert.equal(s.append([ent(1, 1), ent(2, 1), ent(3, 1)]), null);
  assert.equal(s.append([ent(2, 2)]), null);
  assert.equal(s.lastIndex(), 2);
  assert.equal(s.term(2), 2);
  assert.match(s.append([ent(5, 2)]) ?? '', /gap/);
  assert.match(s.append([ent(3, 2), ent(5, 2)]) ?? '', /contiguous/);
});

test('compaction keeps later entries; a restart gets snapshot, entries and hard state back', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
  s.hardState = { term: 2, vote: 'n1', commit: 3 };
  s.compact(2, conf, new Uint8Array([1]));
  assert.equal(s.snapshotIndex, 2);
  assert.equal(s.term(2), 1);
  assert.equal(s.term(1), undefined);
  assert.deepEqual(s.initialState(conf, 2).entries.map((e) => e.index), [3, 4]);
  assert.match(s.append([ent(2, 3)]) ?? '', /snapshot/);
  assert.throws(() => s.compact(2, conf, new Uint8Array()));
});

test('installing a snapshot replaces the whole log', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1)]);
  s.installSnapshot({ meta: { index: 10, term: 3, conf }, data: new Uint8Array() });
  assert.equal(s.lastIndex(), 10);
  assert.equal(s.append([ent(11, 3)]), null);
});

test('the state machine applies each command id once and hashes the order', () => {
  const a = new SimStateMachine(conf);
  const b = new SimStateMachine(conf);
  assert.deepEqual(a.apply(ent(1, 1, 'c1:1')), { id: 'c1:1', duplicate: false, change: null });
  assert.equal(a.apply(ent(2, 1, 'c1:1')).duplicate, true);
  a.apply(ent(3, 1, 'c2:1'));
  b.apply(ent(1, 1, 'c2:1'));
  b.apply(ent(2, 1, 'c1:1'));
  assert.equal(a.size, 2);
  assert.notEqual(a.stateHash(), b.stateHash(), 'the hash depends on the apply order');
  const noop = a.apply({ index: 4, term: 2, type: EntryType.Normal, data: new Uint8Array() });
  assert.equal(noop.id, null);
  assert.equal(a.applied, 4);
});

test('conf-change entries move the membership; snapshots round-trip the state', () => {
  const sm = new SimStateMachine(conf);
  sm.apply(ent(1, 1, 'c1:1'));
  const r = sm.apply({ index: 2, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type: 'addLearner', node: 'n4' }) });
  assert.deepEqual(r.change, { type: 'addLearner', node: 'n4' });
  assert.deepEqual(sm.conf.learners, ['n4']);
  const copy = new SimStateMachine({ voters: [], learners: [] });
  assert.equal(copy.restore({ meta: { index: 2, term: 1, conf: sm.conf }, data: sm.serialize() }), null);
  assert.equal(copy.stateHash(), sm.stateHash());
  assert.ok(copy.has('c1:1'));
  assert.deepEqual(copy.conf, sm.conf);
  assert.match(copy.restore({ meta: { index: 3, term: 1, conf }, data: sm.serialize() }) ?? '', /applied to 2/);
});

test('command ids survive encoding with padding', () => {
  assert.equal(commandId(encodeCommand('c3:17', 100)), 'c3:17');
  assert.equal(commandId(new Uint8Array()), null);
});
