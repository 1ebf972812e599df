// The two streams of the ChatService: SendStream (many sends in flight, each acknowledged once,
// per-item errors that never end the stream) and Events (live messages, read receipts and
// deletions across peers; cleaned up on cancel; ended by logout).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { PeerGroup } from '../helpers/peer-group.js';
import { as, password, requestIds, TestClient, type EventStream, type Meta } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';

interface Reply { appliedIndex: number; messageId: number; duplicate: boolean; request: { clientId: string; seq: number } | null; errorCode: string; error: string }
interface WireMessage { id: number; from: string; to: string; channel: string; text: string }

const rid = requestIds('streams-test');

describe('ChatService streams on a 3-peer group', () => {
  let group: PeerGroup;
  let peers: TestClient[] = [];
  const streams: EventStream[] = [];

  before(async () => {
    group = await PeerGroup.start();
    peers = group.addresses.map((a) => new TestClient(a));
    for (const username of ['alice', 'bob', 'carol']) await peers[0]?.call('Register', { request: rid(), username, password });
  });

  after(async () => {
    for (const s of streams) s.cancel();
    for (const c of peers) c.close();
    await group?.stop();
  });

  const peer = (i: number) => peers[i] as TestClient;
  const subscribe = async (i: number, meta: Meta): Promise<EventStream> => {
    const stream = peer(i).events(meta);
    streams.push(stream);
    await stream.next('group'); // the current group state comes first: the subscription is live
    return stream;
  };

  test('SendStream: 200 sends in flight, every one acknowledged exactly once', async () => {
    const call = peer(1).sendStream(as('alice'));
    const replies: Reply[] = [];
    call.on('data', (r: Reply) => replies.push(r));
    const closed = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    const clientId = `bulk-${process.pid}`;
    for (let s = 1; s <= 200; s++) call.write({ request: { clientId, seq: s }, to: 'bob', text: `bulk ${s}` });
    await waitFor(() => replies.length >= 200, '200 replies');
    call.end();
    assert.equal((await closed).code, grpc.status.OK, 'the server ends the stream once the client has and all are answered');
    assert.equal(replies.length, 200);
    assert.deepEqual(replies.filter((r) => r.errorCode !== ''), []);
    assert.deepEqual(replies.map((r) => r.request?.seq).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.equal(new Set(replies.map((r) => r.messageId)).size, 200);
    const last = Math.max(...replies.map((r) => r.appliedIndex));
    const history = await peer(2).call<{ messages: { text: string }[] }>('History', { with: 'alice', limit: 500, read: { minIndex: last } }, as('bob'));
    assert.equal(history.messages.filter((m) => m.text.startsWith('bulk ')).length, 200);
  });

  test('SendStream: a failed item is answered with its error; the stream goes on', async () => {
    const call = peer(0).sendStream(as('alice'));
    const replies: Reply[] = [];
    call.on('data', (r: Reply) => replies.push(r));
    const requests = [rid(), rid(), rid()];
    call.write({ request: requests[0], to: 'bob', text: 'fine' });
    call.write({ request: requests[1], to: 'nobody', text: 'lost' });
    call.write({ request: requests[2], to: 'carol', text: 'fine too' });
    await waitFor(() => replies.length === 3, 'three replies');
    const bySeq = new Map(replies.map((r) => [r.request?.seq, r]));
    assert.equal(bySeq.get(requests[0]?.seq)?.errorCode, '');
    assert.deepEqual([bySeq.get(requests[1]?.seq)?.errorCode, bySeq.get(requests[1]?.seq)?.error], ['no-such-user', 'no such user: nobody']);
    assert.equal(bySeq.get(requests[2]?.seq)?.errorCode, '');
    call.end();
  });

  test('SendStream with a wrong password ends with UNAUTHENTICATED', async () => {
    const call = peer(0).sendStream({ 'qc-user': 'alice', 'qc-password': 'wrong password' });
    call.on('data', () => assert.fail('no reply expected'));
    const error = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    assert.deepEqual([error.code, error.details, error.metadata.get('qc-code')[0]], [grpc.status.UNAUTHENTICATED, 'wrong password', 'wrong-password']);
  });

  test('Events: a message sent through another peer, its read receipt, its deletion', async () => {
    const bobEvents = await subscribe(2, as('bob'));
    const aliceEvents = await subscribe(0, as('alice'));
    const sent = await peer(1).call<{ messageId: number }>('SendDirect', { request: rid(), to: 'bob', text: 'live!' }, as('alice'));

    const message = await bobEvents.next<WireMessage>('message', (m) => m.id === sent.messageId);
    assert.deepEqual([message.from, message.to, message.text], ['alice', 'bob', 'live!']);
    await aliceEvents.next<WireMessage>('message', (m) => m.id === sent.messageId); // her own, for her other devices

    await peer(1).call('MarkRead', { request: rid(), with: 'alice', upTo: sent.messageId }, as('bob'));
    const receipt = await aliceEvents.next<{ by: string; upTo: number }>('read');
    assert.deepEqual(receipt, { by: 'bob', upTo: sent.messageId });

    await peer(0).call('DeleteMessages', { request: rid(), ids: [sent.messageId] }, as('alice'));
    const deleted = await bobEvents.next<{ ids: number[] }>('deleted');
    assert.deepEqual(deleted.ids, [sent.messageId]);
    assert.equal(bobEvents.events.filter((e) => e.event === 'message').length, 1, 'nobody else\'s messages');
  });

  test('Events: channel posts reach members only', async () => {
    await peer(0).call('CreateChannel', { request: rid(), channel: 'ops' }, as('carol'));
    const bobEvents = await subscribe(1, as('bob'));
    const carolEvents = await subscribe(2, as('carol'));
    const post = await peer(0).call<{ messageId: number }>('PostChannel', { request: rid(), channel: 'ops', text: 'deploying' }, as('carol'));
    const general = await peer(0).call<{ messageId: number }>('PostChannel', { request: rid(), channel: 'general', text: 'hi all' }, as('carol'));
    await carolEvents.next<WireMessage>('message', (m) => m.id === post.messageId);
    const seen = await bobEvents.next<WireMessage>('message', (m) => m.id === general.messageId);
    assert.equal(seen.channel, 'general');
    assert.ok(!bobEvents.events.some((e) => (e.message as WireMessage | null)?.id === post.messageId), 'bob is not in #ops');
  });

  test('Events: cancelling removes the subscription; a logout ends the stream', async () => {
    const hub = group.server(1).backend.events;
    const before = hub.size;
    const stream = await subscribe(1, as('carol'));
    assert.equal(hub.size, before + 1);
    stream.cancel();
    await waitFor(() => hub.size === before, 'the cancelled subscription gone');

    const { token } = await peer(0).call<{ token: string }>('Login', { request: rid(), username: 'carol', password });
    const tokenEvents = await subscribe(1, { 'qc-token': token });
    await peer(2).call('Logout', { request: rid() }, { 'qc-token': token });
    await waitFor(() => tokenEvents.ended !== null, 'the stream ended');
    assert.deepEqual(tokenEvents.ended, { status: grpc.status.UNAUTHENTICATED, code: 'not-logged-in', details: 'the session ended: logged out' });
  });

  test('Events without credentials: group changes only (a leadership transfer)', async () => {
    const anonymous = await subscribe(0, {});
    const from = await group.leader();
    const to = (from + 1) % 3;
    await peer(from).call('TransferLeadership', { to: `p${to + 1}` });
    const change = await anonymous.next<{ leader: string; term: number; voters: string[] }>('group', (g) => g.leader === `p${to + 1}`);
    assert.deepEqual(change.voters, ['p1', 'p2', 'p3']);
  });
});
