// The Ready loop's ordering around the log sync (main/peer/peer.ts, early-send.ts), watched in
// a real in-process group of three: storage syncs are slowed down so that every write has a
// window in which it is written but not yet durable, and every message a peer sends and every
// batch it applies is checked against that window. (The delay stands in for a slow disk;
// nothing in the test waits on it.)
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, test } from 'node:test';
import { RaftNode } from '../../main/raft/node.js';
import { MessageType, messageTypeNames, type Entry, type HardState, type Message } from '../../main/raft/types.js';
import { Storage } from '../../main/storage/storage.js';
import { Transport } from '../../main/transport/transport.js';
import { as, TestClient } from '../helpers/grpc-client.js';
import { PeerGroup } from '../helpers/peer-group.js';
import { replaceMethod } from '../helpers/replace-method.js';

/** Per node: whether a sync is pending, and the last index whose write is durable. */
interface NodeDisk { pending: number; durable: number; pendingFirst: number }

const disks = new Map<string, NodeDisk>();
const problems: string[] = [];
const earlyAppends = new Map<string, number>();
let restore: (() => void) | null = null;
/** A follower whose disk is slow: the leader commits with the other one meanwhile, so this one
 * gets entries that are already committed in the same Ready that writes them. */
let slowNode = '';

function disk(id: string): NodeDisk {
  let d = disks.get(id);
  if (d === undefined) disks.set(id, (d = { pending: 0, durable: 0, pendingFirst: Infinity }));
  return d;
}

/**
 * Slows every sync by a few milliseconds (one node's more) and records what is durable when. A
 * message is checked against the write that follows it in the same Ready, if any: a leader
 * sends its early messages just before its write, so they count as sent while it is pending.
 */
function watch(): () => void {
  let unchecked: Message[] = [];
  const checkSent = () => {
    for (const m of unchecked) check(m);
    unchecked = [];
  };
  const restoreWrite = replaceMethod(Storage.prototype, 'write', (write) => function (this: Storage, hardState: HardState | null, entries: readonly Entry[]) {
    const durable = write.call(this, hardState, entries);
    if (durable === null) {
      checkSent();
      return null;
    }
    const d = disk(basename(this.dir));
    const first = entries[0]?.index ?? Infinity;
    const last = entries[entries.length - 1]?.index;
    if (first <= d.durable) d.durable = first - 1; // a conflicting suffix was replaced
    d.pending++;
    d.pendingFirst = first;
    checkSent();
    return durable.then(() => new Promise<void>((resolve) => setTimeout(() => {
      d.pending--;
      d.pendingFirst = Infinity;
      if (last !== undefined) d.durable = last;
      resolve();
    }, basename(this.dir) === slowNode ? 20 : 3)));
  });
  const restoreEarly = replaceMethod(RaftNode.prototype, 'durableCommitted', (durableCommitted) => function (this: RaftNode) {
    const entries = durableCommitted.call(this);
    if (disks.get(this.id)?.pending) appliedWhileSyncing += entries.length;
    return entries;
  });
  const restoreSend = replaceMethod(Transport.prototype, 'send', (send) => function (this: Transport, messages: readonly Message[]) {
    if (unchecked.length === 0) queueMicrotask(checkSent); // no write follows: as things stand now
    unchecked.push(...messages);
    send.call(this, messages);
  });
  return () => {
    restoreWrite();
    restoreEarly();
    restoreSend();
  };
}

function check(m: Message): void {
  const d = disk(m.from);
  if (d.pending === 0) return;
  const replication = m.type === MessageType.App || m.type === MessageType.Commit || m.type === MessageType.Heartbeat;
  if (!replication) problems.push(`${m.from} sent ${messageTypeNames[m.type]} to ${m.to} before its write was durable`);
  else if (m.commit >= d.pendingFirst) problems.push(`${m.from} revealed commit ${m.commit} before entry ${d.pendingFirst} was durable`);
  else if (m.type === MessageType.App && m.entries.length > 0) earlyAppends.set(m.from, (earlyAppends.get(m.from) ?? 0) + 1);
}

let applied = 0;
/** Entries handed out for applying while the peer's write of later ones was still syncing. */
let appliedWhileSyncing = 0;
let group: PeerGroup;

before(async () => {
  restore = watch();
  group = await PeerGroup.start({ size: 3 });
  for (const server of group.servers) {
    const peer = server.peer;
    peer.on('applied', ({ entries }) => {
      const last = entries[entries.length - 1]?.index ?? 0;
      applied++;
      if (last > disk(peer.id).durable) problems.push(`${peer.id} applied ${last}, durable only to ${disk(peer.id).durable}`);
    });
  }
});

after(async () => {
  await group?.stop();
  restore?.();
});

test('votes and acknowledgements wait for the sync; a leader replicates before its own; nothing is applied before it is durable', async () => {
  const leader = await group.leader();
  slowNode = group.server((leader + 2) % 3).peer.id;
  const client = new TestClient(group.addresses[(leader + 1) % 3] as string); // the follower path too
  const direct = new TestClient(group.addresses[leader] as string);
  try {
    await client.register('alice', 'bob');
    // Bursts of 40 until the timings have met (a commit index arriving during a later sync) —
    // usually the first; at most 10, and every one is checked all the same.
    for (let burst = 0; burst < 10 && (burst === 0 || appliedWhileSyncing === 0); burst++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? client : direct).call('SendDirect', { to: 'bob', text: `message ${burst}.${i}` }, as('alice'))));
    }
  } finally {
    client.close();
    direct.close();
  }
  assert.deepEqual(problems, []);
  const leaderId = group.server(leader).peer.id;
  assert.ok((earlyAppends.get(leaderId) ?? 0) > 0, 'the leader sent appends while its own sync was pending');
  assert.ok(applied >= 3, 'every peer applied the writes');
  assert.ok(appliedWhileSyncing > 0, 'durable committed entries were applied while a later write synced');
});
