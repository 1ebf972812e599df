import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Transport, type OutgoingSnapshot, type SnapshotStore, type SnapshotWriter, type TransportOptions } from '../../main/transport/transport.js';
import { loadRaftService } from '../../main/transport/proto.js';
import { toWire } from '../../main/transport/wire.js';
import { emptyFrame, encodeFrame, frameOf, raftPreface, raftPrefaceFamily, snapshotPreface, type MessageBatch } from '../../main/transport/frames.js';
import { groupAuthority, issueNodeCertificate } from '../../main/security/certificates.js';
import { createGroupSecret } from '../../main/security/group-secret.js';
import { certificateIdentity, peerTls } from '../../main/security/tls.js';
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

/**
 * Snapshots in memory; `ahead`: the copy read holds that many entries more than the core asked
 * for. A reception at an index in `refuse` fails its check.
 */
class MemorySnapshots implements SnapshotStore {
  received = new Map<number, Uint8Array>();
  begun: number[] = [];
  aborted: number[] = [];
  closed = 0;
  readonly refuse = new Set<number>();
  /** A check that takes this long (then finish() goes on). */
  slowCheck: Promise<void> | null = null;
  constructor(private readonly data: Uint8Array, private readonly ahead = 0) {}
  async read(meta: SnapshotMeta): Promise<OutgoingSnapshot> {
    const data = this.data;
    return { meta: { ...meta, index: meta.index + this.ahead }, chunks: (async function* () { yield data; })(), close: async () => void this.closed++ };
  }
  receive(meta: SnapshotMeta): SnapshotWriter {
    const parts: Uint8Array[] = [];
    this.begun.push(meta.index);
    return {
      write: async (c) => void parts.push(Buffer.from(c)),
      finish: async () => {
        await this.slowCheck;
        if (this.refuse.has(meta.index)) throw new Error(`snapshot ${meta.index} failed its check`);
        this.received.set(meta.index, Buffer.concat(parts));
      },
      abort: async () => void this.aborted.push(meta.index),
    };
  }
}

function transport(id: string, inbox: Inbox, snapshots: SnapshotStore, options: Partial<TransportOptions> = {}): Transport {
  return new Transport({ id, listen: '127.0.0.1:0', snapshots, ...options }, {
    onMessage: (m) => inbox.messages.push(m),
    onUnreachable: (p) => inbox.unreachable.push(p),
    onError: (err) => inbox.errors.push(err.message),
  });
}

/** A hand-made Raft link to a transport: the preface, then whatever frames a test writes. */
class RawLink {
  readonly socket: net.Socket;
  closed = false;
  received = Buffer.alloc(0);

  /** Over plain TCP to `port`, or over a socket the caller opened; `preface` to pose as another version. */
  constructor(to: number | net.Socket, preface: Buffer = raftPreface) {
    this.socket = typeof to === 'number' ? net.connect({ host: '127.0.0.1', port: to }) : to;
    this.socket.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => undefined);
    this.socket.write(preface);
  }

  send(batch: unknown): void {
    for (const part of encodeFrame(batch as MessageBatch)) this.socket.write(part);
  }
}

describe('peer transport (plaintext: static groups)', () => {
  const inboxA = new Inbox();
  const inboxB = new Inbox();
  const bigSnapshot = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i % 251);
  const aSnapshots = new MemorySnapshots(bigSnapshot, 20);
  const a = transport('a', inboxA, aSnapshots);
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

  it('streams a snapshot in chunks and then delivers the Snap message, labelled with what was sent', async () => {
    const meta = { index: 500, term: 4, conf: { voters: ['a', 'b'], learners: [] } };
    a.send([message('a', 'b', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } })]);
    await waitFor(() => inboxB.messages.some((m) => m.type === MessageType.Snap), 'the snapshot at b');
    const snap = inboxB.messages.find((m) => m.type === MessageType.Snap);
    assert.deepEqual(snap?.snapshot?.meta, { ...meta, index: 520 }, 'the store\'s copy is newer than the core\'s meta');
    assert.deepEqual(bSnapshots.received.get(520), Buffer.from(bigSnapshot));
    await waitFor(() => aSnapshots.closed === 1, 'the sender releasing what it read');
  });

  it('refuses a snapshot link that does not open with one snapshot message, answering why, and keeps nothing', async () => {
    const before = inboxB.messages.length;
    const meta = { index: 600, term: 4, conf: { voters: ['a', 'b'], learners: [] } };
    const openings = [
      { from: 'a', messages: [message('a', 'b', { context: 'not a snapshot' })] },
      { from: 'a', messages: [toWire(message('mallory', 'b', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } }))] },
    ];
    for (const opening of openings) {
      const raw = new RawLink(b.boundPort, snapshotPreface);
      try {
        raw.send(opening);
        raw.socket.write(Buffer.concat(frameOf(Buffer.from('some bytes'))));
        await waitFor(() => raw.closed, 'b to end the snapshot link');
        assert.equal(raw.received[4], 0, 'a refusal');
        assert.match(raw.received.subarray(5).toString(), /one snapshot message|message from mallory/);
      } finally {
        raw.socket.destroy();
      }
    }
    assert.equal(inboxB.messages.length, before);
    assert.ok(!bSnapshots.begun.includes(600), 'nothing was staged');
  });

  it('discards a snapshot whose link is cut before its end, and delivers nothing of it', async () => {
    const meta = { index: 700, term: 4, conf: { voters: ['a', 'b'], learners: [] } };
    const raw = new RawLink(b.boundPort, snapshotPreface);
    try {
      raw.send({ from: 'a', messages: [toWire(message('a', 'b', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } }))] });
      raw.socket.write(Buffer.concat(frameOf(Buffer.from('the first half'))));
      await waitFor(() => bSnapshots.begun.includes(700), 'b to start receiving');
    } finally {
      raw.socket.destroy();
    }
    await waitFor(() => bSnapshots.aborted.includes(700), 'b to discard it');
    assert.ok(!bSnapshots.received.has(700));
    assert.ok(!inboxB.messages.some((m) => m.snapshot?.meta.index === 700));
  });

  it('reports a snapshot the follower refuses, with its reason, and the follower as unreachable', async () => {
    bSnapshots.refuse.add(800);
    const meta = { index: 780, term: 4, conf: { voters: ['a', 'b'], learners: [] } };
    a.send([message('a', 'b', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } })]);
    await waitFor(() => inboxA.errors.some((e) => /refused the snapshot: snapshot 800 failed its check/.test(e)), 'a to hear the refusal');
    assert.ok(inboxA.unreachable.includes('b'));
    assert.ok(bSnapshots.aborted.includes(800), 'b discarded it');
    assert.ok(!inboxB.messages.some((m) => m.snapshot?.meta.index === 800));
  });

  it('drops a snapshot link whose other end falls silent: the leader reports it, the follower discards what it got', async () => {
    const quick = { snapshotIdleMs: 300 };
    const mute = net.createServer((socket) => socket.on('error', () => undefined)); // accepts, never answers
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const inboxC = new Inbox();
    const c = transport('c', inboxC, new MemorySnapshots(new Uint8Array([1, 2, 3])), quick);
    const inboxD = new Inbox();
    const snapshotsD = new MemorySnapshots(new Uint8Array(0));
    const d = transport('d', inboxD, snapshotsD, quick);
    let raw: RawLink | null = null;
    try {
      await Promise.all([c.start(), d.start()]);
      c.setPeer('mute', `127.0.0.1:${(mute.address() as net.AddressInfo).port}`);
      const meta = { index: 40, term: 2, conf: { voters: ['c', 'mute'], learners: [] } };
      c.send([message('c', 'mute', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } })]);
      await waitFor(() => inboxC.errors.some((e) => /closed before the follower answered/.test(e)), 'c to give up on the silent follower');
      assert.ok(inboxC.unreachable.includes('mute'));

      raw = new RawLink(d.boundPort, snapshotPreface);
      raw.send({ from: 'c', messages: [toWire(message('c', 'd', { type: MessageType.Snap, snapshot: { meta: { ...meta, index: 41 }, data: new Uint8Array(0) } }))] });
      raw.socket.write(Buffer.concat(frameOf(Buffer.from('and then nothing'))));
      await waitFor(() => raw?.closed === true, 'd to drop the silent sender');
      await waitFor(() => snapshotsD.aborted.includes(41), 'd to discard what it got');
      assert.ok(!inboxD.messages.some((m) => m.type === MessageType.Snap));
    } finally {
      raw?.socket.destroy();
      await Promise.all([c.close(100), d.close(100)]);
      mute.close();
    }
  });

  it('keeps a snapshot link open while the follower checks the copy for longer than the idle time', async () => {
    const idleMs = 200;
    const inboxE = new Inbox();
    const e = transport('e', inboxE, new MemorySnapshots(new Uint8Array([4, 5, 6])), { snapshotIdleMs: idleMs });
    const snapshotsF = new MemorySnapshots(new Uint8Array(0));
    const f = transport('f', new Inbox(), snapshotsF, { snapshotIdleMs: idleMs });
    // The check outlasts three idle periods: only the follower's "still checking" frames keep the link.
    snapshotsF.slowCheck = new Promise((resolve) => setTimeout(resolve, 3 * idleMs));
    try {
      await Promise.all([e.start(), f.start()]);
      e.setPeer('f', `127.0.0.1:${f.boundPort}`);
      const meta = { index: 50, term: 2, conf: { voters: ['e', 'f'], learners: [] } };
      e.send([message('e', 'f', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } })]);
      await waitFor(() => snapshotsF.received.has(50), 'the snapshot at f');
      assert.deepEqual(snapshotsF.received.get(50), Buffer.from([4, 5, 6]));
      assert.deepEqual([inboxE.errors, inboxE.unreachable], [[], []], 'e saw the snapshot through');
    } finally {
      await Promise.all([e.close(100), f.close(100)]);
    }
  });

  it('refuses a message whose sender differs from the link owner, ends the link, and delivers nothing of it', async () => {
    const before = inboxB.messages.length;
    const raw = new RawLink(b.boundPort);
    try {
      raw.send({ from: 'a', messages: [{ type: MessageType.Heartbeat, from: 'mallory', to: 'b', term: 99 }] });
      await waitFor(() => raw.closed, 'b to end the link');
      assert.ok(inboxB.errors.some((e) => /message from mallory on a's stream/.test(e)), inboxB.errors.join('; '));
      assert.equal(inboxB.messages.length, before);
    } finally {
      raw.socket.destroy();
    }
  });

  it('refuses a Raft link of another version, says so once, and delivers nothing of it', async () => {
    const before = inboxB.messages.length;
    const current = Number(raftPreface.subarray(raftPrefaceFamily.length).toString('latin1'));
    const prefaces = [`QCRAFT/${current - 1}\n`, `QCRAFT/${current + 1}\n`, `QCRAFT/${current - 1} snapshot\n`];
    const links = prefaces.map((preface) => new RawLink(b.boundPort, Buffer.from(preface)));
    try {
      for (const raw of links) raw.send({ from: 'a', messages: [message('a', 'b', { context: 'old' })] });
      await waitFor(() => links.every((raw) => raw.closed), 'b to end every link');
      const said = inboxB.errors.filter((e) => new RegExp(`speaks QCRAFT/\\d( snapshot)?, this peer QCRAFT/${current}: it runs another version`).test(e));
      assert.equal(said.length, 1, `one report per address a minute: ${inboxB.errors.join('; ')}`);
      assert.equal(inboxB.messages.length, before);
    } finally {
      for (const raw of links) raw.socket.destroy();
    }
    // This version's link still works.
    a.send([message('a', 'b', { context: 'same version' })]);
    await waitFor(() => inboxB.messages.some((m) => m.context === 'same version'), 'a message over a link of this version');
  });

  it('drops a message of a type it does not know (a newer peer) and keeps the link and the rest', async () => {
    const before = inboxB.messages.length;
    const errors = inboxB.errors.length;
    const raw = new RawLink(b.boundPort);
    try {
      const unknown = { type: 99, from: 'a', to: 'b', term: 3 };
      raw.send({ from: 'a', messages: [unknown, { type: MessageType.Heartbeat, from: 'a', to: 'b', term: 3, context: 'after-unknown' }] });
      raw.send({ from: 'a', messages: [unknown, { type: MessageType.Heartbeat, from: 'a', to: 'b', term: 3, context: 'next-batch' }] });
      await waitFor(() => inboxB.messages.some((m) => m.context === 'next-batch'), 'the second batch at b');
      assert.deepEqual(inboxB.messages.slice(before).map((m) => m.context), ['after-unknown', 'next-batch']);
      assert.equal(raw.closed, false, 'the link is still open');
      assert.deepEqual(inboxB.errors.slice(errors).map((e) => /unknown type 99/.test(e)), [true], 'reported once per link');
    } finally {
      raw.socket.destroy();
    }
  });

  it('ends a link whose frame is oversized or undecodable, delivering nothing of it', async () => {
    const before = inboxB.messages.length;
    for (const bad of [Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff])]) {
      const raw = new RawLink(b.boundPort);
      try {
        raw.socket.write(bad);
        await waitFor(() => raw.closed, 'b to end the link');
      } finally {
        raw.socket.destroy();
      }
    }
    assert.equal(inboxB.messages.length, before);
    assert.ok(inboxB.errors.some((e) => /frame of 4294967295 bytes/.test(e)), inboxB.errors.join('; '));
    assert.ok(inboxB.errors.some((e) => /undecodable batch/.test(e)), inboxB.errors.join('; '));
  });

  it('reassembles frames however the bytes are split, and answers a keepalive ping', async () => {
    const raw = new RawLink(b.boundPort);
    try {
      const [header, body] = encodeFrame({ from: 'a', messages: [{ ...message('a', 'b', { context: 'byte-by-byte' }), entries: [], snapshot: null }] } as unknown as MessageBatch);
      const bytes = Buffer.concat([emptyFrame, header, body]);
      for (let i = 0; i < bytes.length; i++) {
        raw.socket.write(bytes.subarray(i, i + 1));
        await new Promise((resolve) => setImmediate(resolve)); // one byte per turn: each arrives on its own
      }
      await waitFor(() => inboxB.messages.some((m) => m.context === 'byte-by-byte'), 'the message at b');
      await waitFor(() => raw.received.length >= 4, 'the pong');
      assert.deepEqual(raw.received, emptyFrame);
    } finally {
      raw.socket.destroy();
    }
  });

  it('serves gRPC on the same port to a connection without the preface', async () => {
    const { client } = loadRaftService();
    const raw = new client(`127.0.0.1:${b.boundPort}`, grpc.credentials.createInsecure()) as unknown as {
      Leave(r: unknown, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void; close(): void;
    };
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => raw.Leave({ nodeId: 'a' }, { deadline: Date.now() + 10_000 }, resolve));
      assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
      assert.match(err?.details ?? '', /fixed membership/);
    } finally {
      raw.close();
    }
  });

  it('drops a link whose peer stops answering (and reports the loss), and an inbound link that stops pinging', async () => {
    const mute = net.createServer((socket) => socket.on('error', () => undefined)); // accepts, never answers
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const inbox = new Inbox();
    const c = transport('c', inbox, new MemorySnapshots(new Uint8Array(0)), { keepaliveMs: 100 });
    try {
      await c.start();
      c.setPeer('mute', `127.0.0.1:${(mute.address() as net.AddressInfo).port}`);
      await waitFor(() => c.isConnected('mute'), 'the connection to be up');
      await waitFor(() => inbox.unreachable.includes('mute'), 'the silent link to be dropped');
      // And the other way: an inbound link that stops pinging is dropped by the receiver.
      const silent = new RawLink(c.boundPort);
      try {
        await waitFor(() => silent.closed, 'c to drop the silent inbound link');
      } finally {
        silent.socket.destroy();
      }
    } finally {
      await c.close(100);
      mute.close();
    }
  });

  it('delivers what was sent before the link to a peer is removed (a member told of its removal)', async () => {
    a.send([message('a', 'b', { context: 'last-words' })]);
    a.removePeer('b');
    await waitFor(() => inboxB.messages.some((m) => m.context === 'last-words'), 'the last message at b');
    a.setPeer('b', `127.0.0.1:${b.boundPort}`);
  });

  it('reconnects to a peer as soon as it speaks again, without waiting out the backoff', async () => {
    // A backoff longer than the test: only the peer's own message can bring the link back.
    const patient = { backoffMs: { first: 600_000, most: 600_000 } };
    const inboxC = new Inbox();
    const c = transport('c', inboxC, new MemorySnapshots(new Uint8Array(0)), patient);
    let d = transport('d', new Inbox(), new MemorySnapshots(new Uint8Array(0)));
    try {
      await c.start();
      const port = await d.start();
      await d.close(100); // d is down: c's first attempt fails and c backs off for ten minutes
      c.setPeer('d', `127.0.0.1:${port}`);
      await waitFor(() => inboxC.unreachable.includes('d'), 'c to find d unreachable');
      assert.equal(c.isConnected('d'), false, 'and to stay off it while backing off');

      const inboxD = new Inbox();
      d = transport('d', inboxD, new MemorySnapshots(new Uint8Array(0)), { listen: `127.0.0.1:${port}` });
      await d.start();
      d.setPeer('c', `127.0.0.1:${c.boundPort}`);
      d.send([message('d', 'c', { context: 'back' })]);
      await waitFor(() => inboxC.messages.some((m) => m.context === 'back'), 'c to hear from d');
      await waitFor(() => c.isConnected('d'), 'c to reconnect to d at once');
      c.send([message('c', 'd', { context: 'welcome back' })]);
      await waitFor(() => inboxD.messages.some((m) => m.context === 'welcome back'), 'd to hear from c');
    } finally {
      await Promise.all([c.close(100), d.close(100)]);
    }
  });

  it('reports a peer that cannot be reached, without blocking the others', async () => {
    a.setPeer('ghost', '127.0.0.1:1');
    a.send([message('a', 'ghost'), message('a', 'b', { context: 'still-flowing' })]);
    await waitFor(() => inboxB.messages.some((m) => m.context === 'still-flowing'), 'b to keep receiving');
    await waitFor(() => inboxA.unreachable.includes('ghost'), 'ghost reported unreachable');
  });
});

describe('peer transport over mutual TLS (group peers)', () => {
  interface TlsPair { a: Transport; b: Transport; inboxB: Inbox; snapshotsB: MemorySnapshots; seen: { raft: string[]; snapshot: string[] } }

  /** a and b of one group; b records whom each Raft link and snapshot showed itself as. */
  async function tlsPair(): Promise<TlsPair> {
    const authority = await groupAuthority(createGroupSecret());
    const tlsOf = async (id: string) => peerTls(authority, await issueNodeCertificate(authority, id));
    const [tlsA, tlsB] = await Promise.all([tlsOf('a'), tlsOf('b')]);
    const inboxB = new Inbox();
    const snapshotsB = new MemorySnapshots(new Uint8Array(0));
    const seen = { raft: [] as string[], snapshot: [] as string[] };
    const a = transport('a', new Inbox(), new MemorySnapshots(new Uint8Array([7, 7, 7])), { tls: tlsA });
    const b = transport('b', inboxB, snapshotsB, {
      tls: tlsB,
      authenticate: (certificate, claimed) => {
        // The Raft link authenticates before its first message, the snapshot after.
        seen[inboxB.messages.length === 0 ? 'raft' : 'snapshot'].push(certificateIdentity(certificate)?.nodeId ?? 'none');
        return certificateIdentity(certificate)?.nodeId === claimed;
      },
    });
    const [, pb] = await Promise.all([a.start(), b.start()]);
    a.setPeer('b', `127.0.0.1:${pb}`);
    return { a, b, inboxB, snapshotsB, seen };
  }

  it('carries Raft messages and snapshots on one port, each authenticated by the client certificate', async () => {
    const { a, b, inboxB, snapshotsB, seen } = await tlsPair();
    try {
      a.send([message('a', 'b', { context: 'over-tls' })]);
      await waitFor(() => inboxB.messages.some((m) => m.context === 'over-tls'), 'the message at b');
      const meta = { index: 9, term: 2, conf: { voters: ['a', 'b'], learners: [] } };
      a.send([message('a', 'b', { type: MessageType.Snap, snapshot: { meta, data: new Uint8Array(0) } })]);
      await waitFor(() => snapshotsB.received.has(9), 'the snapshot at b');
      assert.deepEqual(snapshotsB.received.get(9), Buffer.from([7, 7, 7]));
      assert.deepEqual(seen, { raft: ['a'], snapshot: ['a'] });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses, at the handshake, a Raft link with another group\'s certificate or none', async () => {
    const { a, b, inboxB } = await tlsPair();
    await a.close();
    const stranger = await groupAuthority(createGroupSecret());
    const strangerTls = peerTls(stranger, await issueNodeCertificate(stranger, 'a'));
    const attempts: Array<() => RawLink> = [
      () => new RawLink(tls.connect({ ...strangerTls.connectOptions('b'), host: '127.0.0.1', port: b.boundPort, rejectUnauthorized: false })),
      () => new RawLink(b.boundPort), // plain TCP against the TLS port
    ];
    try {
      for (const connect of attempts) {
        const raw = connect();
        raw.send({ from: 'a', messages: [{ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 3 }] });
        await waitFor(() => raw.closed, 'b to drop the connection');
        raw.socket.destroy();
      }
      assert.equal(inboxB.messages.length, 0);
    } finally {
      await b.close();
    }
  });
});
