// Snapshots and log compaction (§7): the application compacts the log; a follower that needs
// compacted entries receives InstallSnapshot (Snap) and then normal Apps; a lost snapshot is resent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role, type Message, type RaftConfig, type Snapshot } from '../../../main/raft/types.js';
import { Network, Solo, ids, logOfTerms, stateWith, str, text } from './harness.js';

const plain: Partial<RaftConfig> = { preVote: false, checkQuorum: false, electionTicks: 10 };

/** 3 nodes; 3 is cut off while the leader commits entries 2..11 and then compacts up to `at`. */
function laggingFollower(at: number): Network {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('3');
  for (let i = 2; i <= 11; i++) net.get('1').propose(text(`e${i}`));
  net.settle();
  assert.equal(net.get('1').status().applied, 11);
  net.get('1').compact(at, text(`state@${at}`));
  net.heal();
  return net;
}

const snaps = (msgs: readonly Message[]) => msgs.filter((m) => m.type === MessageType.Snap);

test('compact: the log before the snapshot index is dropped; only applied entries may be compacted', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  for (let i = 0; i < 5; i++) net.get('1').propose(text(`e${i}`));
  net.settle();
  const n = net.get('1');
  n.compact(4, text('state'));
  const st = n.status();
  assert.deepEqual([st.snapshotIndex, st.firstIndex, st.lastIndex], [4, 5, 6]);
  assert.equal(n.termAt(3), undefined, 'compacted away');
  assert.equal(n.termAt(4), 1, 'the snapshot index keeps its term');
  assert.equal(n.entryAt(5)?.index, 5);
  n.compact(2, text('older')); // at or below the current snapshot: nothing happens
  assert.equal(n.status().snapshotIndex, 4);
  assert.throws(() => n.compact(9, text('future')), /cannot compact/);
  // Replication and commit go on after compaction.
  n.propose(text('after'));
  net.settle();
  assert.equal(net.get('3').status().commit, 7);
});

test('snapshot: a follower behind the compacted log gets one Snap, installs it, then normal Apps', () => {
  const net = laggingFollower(8);
  const from = net.delivered.length;
  net.tick('1');
  const toThree = net.delivered.slice(from).filter((m) => m.to === '3' && (m.type === MessageType.Snap || (m.type === MessageType.App && m.entries.length > 0)));
  assert.deepEqual(toThree.map((m) => m.type), [MessageType.Snap, MessageType.App]);
  const snap = toThree[0]?.snapshot as Snapshot;
  assert.deepEqual([snap.meta.index, snap.meta.term, str(snap.data)], [8, 1, 'state@8']);
  assert.deepEqual(snap.meta.conf, { voters: ids(3), learners: [] });
  assert.deepEqual(toThree[1]?.entries.map((e) => e.index), [9, 10, 11], 'then the entries after the snapshot');
  const t3 = net.testNode('3');
  assert.deepEqual(t3.snapshots.map((s) => s.meta.index), [8], 'the driver installed the snapshot');
  assert.deepEqual(t3.applied.map((e) => e.index), [1, 9, 10, 11], 'entries covered by the snapshot are not applied one by one');
  const st = net.get('3').status();
  assert.deepEqual([st.snapshotIndex, st.firstIndex, st.lastIndex, st.commit, st.applied], [8, 9, 11, 11, 11]);
  assert.equal(net.get('1').status().progress.find((p) => p.id === '3')?.state, 'replicate');
});

test('snapshot: a follower whose log still reaches the leader\'s first index gets Apps, not a snapshot', () => {
  const net = laggingFollower(1); // 3 holds index 1: the leader can still send 2..11
  net.tick('1');
  assert.equal(snaps(net.delivered).length, 0);
  assert.equal(net.get('3').status().commit, 11);
});

test('retained log: a follower behind the snapshot gets the entries still held on disk in Apps, not a snapshot', () => {
  const net = laggingFollower(8); // 3 holds index 1
  net.testNode('1').heldFrom = 1;
  const from = net.delivered.length;
  net.tick('1');
  net.settle();
  assert.equal(snaps(net.delivered).length, 0);
  const apps = net.delivered.slice(from).filter((m) => m.to === '3' && m.type === MessageType.App && m.entries.length > 0);
  assert.deepEqual(apps.map((m) => m.entries.map((e) => e.index)), [[2, 3, 4, 5, 6, 7, 8], [9, 10, 11]],
    'up to the snapshot index from disk, then the rest from memory');
  assert.deepEqual(net.testNode('3').applied.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'every entry applied, one by one');
  assert.deepEqual(net.testNode('3').snapshots, []);
  assert.equal(net.get('3').status().commit, 11);
});

test('retained log: a follower behind the first entry held gets the snapshot', () => {
  const net = laggingFollower(8);
  net.testNode('1').heldFrom = 3; // 3 needs entry 2 (and the term of 1), which the leader no longer holds
  net.tick('1');
  net.settle();
  assert.equal(snaps(net.delivered).length, 1);
  assert.deepEqual(net.testNode('3').snapshots.map((s) => s.meta.index), [8]);
  assert.equal(net.get('3').status().commit, 11);
});

test('retained log: entries read from disk go a few Apps at a time, then the stream goes on as acks come', () => {
  const net = new Network(ids(3), { config: { ...plain, maxMsgBytes: 1 } }); // one entry per App
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('3');
  for (let i = 2; i <= 41; i++) net.get('1').propose(text(`e${i}`));
  net.settle();
  net.get('1').compact(40, text('state@40'));
  net.testNode('1').heldFrom = 1;
  net.heal();
  net.hold = true;
  const fromDisk = (m: Message) => m.to === '3' && m.type === MessageType.App && (m.entries[0]?.index ?? Infinity) <= 40;
  // Deliver everything but the Apps from disk once 3 replicates: those pile up, unacknowledged.
  net.tick('1');
  let mostInFlight = 0;
  for (let round = 0; round < 20; round++) {
    const replicating = net.get('1').status().progress.find((p) => p.id === '3')?.state === 'replicate';
    if (net.deliverHeld((m) => !(replicating && fromDisk(m))) === 0) break;
    net.settle();
    mostInFlight = Math.max(mostInFlight, net.held.filter(fromDisk).length);
  }
  assert.ok(mostInFlight >= 1 && mostInFlight <= 4, `Apps from disk in flight without an answer: ${mostInFlight} (at most 4)`);
  net.hold = false;
  while (net.held.length > 0) {
    net.deliverHeld();
    net.settle();
  }
  assert.equal(snaps(net.delivered).length, 0);
  assert.equal(net.get('3').status().commit, 41);
  assert.equal(net.testNode('3').applied.length, 41);
});

test('retained log: an App read from disk carries at most 256 KiB; one from memory up to maxMsgBytes', () => {
  const net = new Network(ids(3), { config: plain }); // maxMsgBytes: 1 MiB
  assert.equal(net.elect('1'), Role.Leader);
  net.isolate('3');
  const big = new Uint8Array(100 << 10);
  for (let i = 2; i <= 31; i++) net.get('1').propose(big);
  net.settle();
  net.get('1').compact(21, text('state@21'));
  net.testNode('1').heldFrom = 1;
  const from = net.delivered.length;
  net.heal();
  net.tick('1');
  net.settle();
  const apps = net.delivered.slice(from).filter((m) => m.to === '3' && m.type === MessageType.App && m.entries.length > 0);
  const sizes = apps.map((m) => m.entries.map((e) => e.index));
  assert.deepEqual(sizes.filter((s) => (s[0] as number) <= 21).map((s) => s.length), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 'from disk: two of 100 KiB each');
  assert.deepEqual(sizes.filter((s) => (s[0] as number) > 21).map((s) => s.length), [10], 'from memory: ten, 1,000 KiB');
  assert.equal(net.get('3').status().commit, 31);
});

test('snapshot: a lost snapshot is sent again after the leader gives up waiting for it', () => {
  const net = laggingFollower(8);
  let lost = 0;
  net.drop = (m) => m.type === MessageType.Snap && lost++ === 0;
  net.tick('1');
  assert.equal(snaps(net.delivered).length, 1);
  assert.equal(net.get('1').status().progress.find((p) => p.id === '3')?.state, 'snapshot');
  net.tick('1', 18);
  assert.equal(snaps(net.delivered).length, 1, 'no resend while the snapshot may still land');
  net.tick('1', 4);
  assert.equal(snaps(net.delivered).length, 2, 'resent after two election timeouts');
  assert.equal(net.get('3').status().commit, 11);
  assert.deepEqual(net.testNode('3').snapshots.map((s) => s.meta.index), [8]);
});

test('snapshot: it carries the membership as of its index, and a new member adopts it', () => {
  const net = new Network(ids(3), { config: plain });
  assert.equal(net.elect('1'), Role.Leader);
  net.add('4', stateWith({ voters: [], learners: [] }), plain, 4);
  net.isolate('4');
  net.get('1').proposeConfChange({ type: 'addLearner', node: '4' });
  net.settle();
  net.get('1').propose(text('x'));
  net.settle();
  assert.equal(net.get('1').status().applied, 3);
  net.get('1').compact(3, text('state@3'));
  net.heal();
  net.tick('1');
  const snap = snaps(net.delivered)[0]?.snapshot;
  assert.deepEqual(snap?.meta.conf, { voters: ids(3), learners: ['4'] });
  assert.deepEqual(net.get('4').status().conf, { voters: ids(3), learners: ['4'] });
  assert.equal(net.get('4').status().commit, 3);
});

test('snapshot: a follower ignores a snapshot its log already covers and reports its commit', () => {
  const conf = { voters: ids(3), learners: [] };
  const snapshot = (index: number): Snapshot => ({ meta: { index, term: 1, conf }, data: text('s') });
  // Older than our commit index: nothing changes.
  const s = new Solo('2', stateWith(conf, { term: 1, entries: logOfTerms(1, 1, 1, 1, 1), commit: 5 }), plain);
  let out = s.step({ type: MessageType.Snap, from: '1', term: 1, snapshot: snapshot(3) });
  assert.deepEqual(out.map((m) => [m.type, m.index, m.reject]), [[MessageType.AppResp, 5, false]]);
  assert.equal(s.readies.some((rd) => rd.snapshot !== null), false);
  assert.equal(s.status().lastIndex, 5);
  // Newer than our commit but matching our log: we only learn that those entries are committed.
  const t = new Solo('2', stateWith(conf, { term: 1, entries: logOfTerms(1, 1, 1, 1, 1), commit: 2 }), plain);
  out = t.step({ type: MessageType.Snap, from: '1', term: 1, snapshot: snapshot(4) });
  assert.deepEqual(out.map((m) => [m.type, m.index]), [[MessageType.AppResp, 4]]);
  assert.equal(t.readies.some((rd) => rd.snapshot !== null), false);
  assert.deepEqual([t.status().commit, t.status().lastIndex], [4, 5]);
});
