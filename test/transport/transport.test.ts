import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Transport, type SnapshotStore, type SnapshotWriter } from '../../main/transport/transport.js';
import { loadRaftService } from '../../main/transport/proto.js';
import { waitFor } from '../helpers/wait.js';
import { MessageType, type Message, type SnapshotMeta } from '../../main/raft/types.js';

function message(from: string, to: string, fields: Partial<Message> = {}): Message {
  return {
    type: MessageType.Heartbeat, from, to, term: 3, logTerm: 0, index: 0, commit: 7, entries: [],
    reject: false, rejectHint: 0, context: '', snapshot: null, ...fields,
  };
}

/** Collects what a transport delivers. */
class Inbox {
  readonly messages: Message[] = [];
  readonly unreachable: string[] = [];
  readonly errors: string[] = [];
}

class MemorySnapshots implements SnapshotStore {
  received = new Map<number, Uint8Array>();
  constructor(private readonly data: Uint8Array) {}
  async *read(_meta: SnapshotMeta): AsyncIterable<Uint8Array> {
    yield this.data;
  }
  receive(meta: SnapshotMeta): SnapshotWriter {
    const parts: Uint8Array[] = [];
    return {
      write: (c) => void parts.push(Buffer.from(c)),
      finish: async () => void this.received.set(meta.index, Buffer.concat(parts)),
      abort: () => undefined,
    };
  }
}

function transport(id: string, inbox: Inbox, snapshots: SnapshotStore): Transport {
  return new Transport({
    id, listen: '127.0.0.1:0', snapshots,
    serverCredentials: grpc.ServerCredentials.createInsecure(),
    channelCredentials: grpc.credentials.createInsecure(),
  }, {
    onMessage: (m) => inbox.messages.push(m),
    onUnreachable: (p) => inbox.unreachable.push(p),
    onError: (err) => inbox.errors.push(err.message),
  });
}

describe('gRPC peer transport', () => {
  const inboxA = new Inbox();
  const inboxB = new Inbox();
  const bigSnapshot = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i % 251);
  const a = transport('a', inboxA, new MemorySnapshots(bigSnapshot));
  const bSnapshots = new MemorySnapshots(new Uint8Array(0));
  const b = transport('b', inboxB, bSnapshots);

  before(async () => {
    const [pa, pb] = await Promise.all([a.start(), b.start()]);
    a.setPeer('b', `127.0.0.1:${pb}`);
    b.setPeer('a', `127.0.0.1:${pa}`);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('delivers batches of messages in order, entries and all', async () => {
    const entries = [1, 2, 3].map((i) => ({ term: 3, index: 10 + i, type: 0, data: new Uint8Array([i, i]) }));
    a.send([message('a', 'b', { type: MessageType.App, index: 10, logTerm: 3, entries }), message('a', 'b', { context: 'r1' })]);
    await waitFor(() => inboxB.messages.length >= 2, 'two messages at b');
    const [app, hb] = inboxB.messages;
    assert.equal(app?.type, MessageType.App);
    assert.deepEqual(app?.entries.map((e) => [e.index, e.term, [...e.data]]), [[11, 3, [1, 1]], [12, 3, [2, 2]], [13, 3, [3, 3]]]);
    assert.equal(hb?.context, 'r1');
    assert.equal(hb?.commit, 7);
  });

  it('streams a snapshot in chunks and then delivers the Snap message', async () => {
    const meta = { index: 500, term: 4, conf: { voters: ['a', 'b'], learners: [] } };
    a.send([message('a', 'b', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } })]);
    await waitFor(() => inboxB.messages.some((m) => m.type === MessageType.Snap), 'the snapshot at b');
    const snap = inboxB.messages.find((m) => m.type === MessageType.Snap);
    assert.deepEqual(snap?.snapshot?.meta, meta);
    assert.deepEqual(bSnapshots.received.get(500), Buffer.from(bigSnapshot));
  });

  it('refuses a message whose sender differs from the stream owner, and delivers nothing of it', async () => {
    const before = inboxB.messages.length;
    const { client } = loadRaftService();
    const raw = new client(`127.0.0.1:${b.boundPort}`, grpc.credentials.createInsecure()) as unknown as {
      Stream(cb: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown>; close(): void;
    };
    const status = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.Stream((err) => resolve(err));
      call.write({ from: 'a', messages: [{ type: MessageType.Heartbeat, from: 'mallory', to: 'b', term: 99 }] });
    });
    raw.close();
    assert.equal(status?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status?.details ?? '', /message from mallory on a's stream/);
    assert.equal(inboxB.messages.length, before);
  });

  it('drops a message of a type it does not know (a newer peer) and keeps the stream and the rest', async () => {
    const before = inboxB.messages.length;
    const errors = inboxB.errors.length;
    const { client } = loadRaftService();
    const raw = new client(`127.0.0.1:${b.boundPort}`, grpc.credentials.createInsecure()) as unknown as {
      Stream(cb: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<unknown>; close(): void;
    };
    let status: grpc.ServiceError | null | undefined;
    const call = raw.Stream((err) => { status = err; });
    try {
      const unknown = { type: 99, from: 'a', to: 'b', term: 3 };
      call.write({ from: 'a', messages: [unknown, { type: MessageType.Heartbeat, from: 'a', to: 'b', term: 3, context: 'after-unknown' }] });
      call.write({ from: 'a', messages: [unknown, { type: MessageType.Heartbeat, from: 'a', to: 'b', term: 3, context: 'next-batch' }] });
      await waitFor(() => inboxB.messages.some((m) => m.context === 'next-batch'), 'the second batch at b');
      assert.deepEqual(inboxB.messages.slice(before).map((m) => m.context), ['after-unknown', 'next-batch']);
      assert.equal(status, undefined, 'the stream is still open');
      assert.deepEqual(inboxB.errors.slice(errors).map((e) => /unknown type 99/.test(e)), [true], 'reported once per stream');
      call.end();
      await waitFor(() => status !== undefined, 'the stream to close');
      assert.equal(status, null);
    } finally {
      raw.close();
    }
  });

  it('reports a peer that cannot be reached, without blocking the others', async () => {
    a.setPeer('ghost', '127.0.0.1:1');
    a.send([message('a', 'ghost'), message('a', 'b', { context: 'still-flowing' })]);
    await waitFor(() => inboxB.messages.some((m) => m.context === 'still-flowing'), 'b to keep receiving');
    await waitFor(() => inboxA.unreachable.includes('ghost'), 'ghost reported unreachable');
  });
});
