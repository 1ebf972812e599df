// Every ChatService RPC through a real gRPC client against an in-process 3-peer group: the
// happy paths, then the error each kind of bad call gets (status, qc-code, one clear line).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { PeerGroup } from '../helpers/peer-group.js';
import { as, password, requestIds, TestClient, type Meta } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';

interface Message { id: number; from: string; to: string; channel: string; text: string; unread: boolean }
interface Messages { appliedIndex: number; messages: Message[]; next: string }
interface WriteReply { appliedIndex: number; messageId: number; count: number; channelId: number; duplicate: boolean }

const rid = requestIds('chat-service-test');

describe('ChatService on a 3-peer group', () => {
  let group: PeerGroup;
  let peers: TestClient[] = [];
  /** alice on peer 0, bob on peer 1, carol on peer 2 (user + password metadata). */
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient;

  before(async () => {
    group = await PeerGroup.start({ writeTimeoutMs: 1_500 });
    peers = group.addresses.map((a) => new TestClient(a));
    for (const [i, name] of ['alice', 'bob', 'carol'].entries()) {
      await peers[i]?.call('Register', { request: rid(), username: name, password });
    }
    [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name, i) => (peers[i] as TestClient).as(as(name))) as [TestClient, TestClient, TestClient];
  });

  after(async () => {
    for (const c of [...peers, alice, bob, carol]) c?.close();
    await group?.stop();
  });

  test('register answers with the account; the name is known on every peer at once', async () => {
    const reply = await peers[0]?.call<{ appliedIndex: number; account: { id: number; username: string } }>(
      'Register', { request: rid(), username: 'dave', password });
    assert.equal(reply?.account.username, 'dave');
    assert.ok((reply?.appliedIndex ?? 0) > 0);
    // No min_index: a miss on peer 2 is confirmed with the leader before "no such user".
    const page = await peers[2]?.call<{ accounts: { username: string }[] }>('ListAccounts', { pattern: 'dav?' }, as('dave'));
    assert.deepEqual(page?.accounts.map((a) => a.username), ['dave']);
  });

  test('login returns a token, the account and the unread count', async () => {
    await bob.call('SendDirect', { request: rid(), to: 'carol', text: 'hi carol' });
    const reply = await peers[1]?.call<{ token: string; account: { username: string }; unread: number; appliedIndex: number }>(
      'Login', { request: rid(), username: 'carol', password });
    assert.match(reply?.token ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(reply?.account.username, 'carol');
    assert.equal(reply?.unread, 1);
  });

  test('list accounts: wildcard, paging with a cursor', async () => {
    const first = await alice.call<{ accounts: { username: string }[]; next: string }>('ListAccounts', { pattern: '*', limit: 2 });
    assert.deepEqual(first.accounts.map((a) => a.username), ['alice', 'bob']);
    const rest = await alice.call<{ accounts: { username: string }[]; next: string }>('ListAccounts', { pattern: '', limit: 10, cursor: first.next });
    assert.ok(rest.accounts.map((a) => a.username).includes('carol'));
    assert.equal(rest.next, '');
  });

  test('direct messages: send, history pages, unread, read N, mark read, delete', async () => {
    const sent: number[] = [];
    for (const text of ['one', 'two', 'three']) sent.push((await alice.call<WriteReply>('SendDirect', { request: rid(), to: 'bob', text })).messageId);
    const last = await alice.call<WriteReply>('SendDirect', { request: rid(), to: 'bob', text: 'four' });
    const read = { minIndex: last.appliedIndex };
    const page1 = await bob.call<Messages>('History', { with: 'alice', limit: 2, read });
    assert.deepEqual(page1.messages.map((m) => m.text), ['three', 'four']);
    assert.deepEqual(page1.messages.map((m) => [m.from, m.to, m.unread]), [['alice', 'bob', true], ['alice', 'bob', true]]);
    const page2 = await bob.call<Messages>('History', { with: 'alice', limit: 2, cursor: page1.next, read });
    assert.deepEqual(page2.messages.map((m) => m.text), ['one', 'two']);

    const unread = await bob.call<{ total: number; conversations: { with: string; unread: number }[] }>('Unread', { read });
    assert.deepEqual(unread.conversations, [{ with: 'alice', unread: 4 }]);
    const two = await bob.call<Messages>('ReadUnread', { request: rid(), count: 2, from: 'alice' });
    assert.deepEqual(two.messages.map((m) => m.text), ['one', 'two']);
    const after = await bob.call<{ total: number }>('Unread', { read: { minIndex: two.appliedIndex } });
    assert.equal(after.total, 2);
    const marked = await bob.call<WriteReply>('MarkRead', { request: rid(), with: 'alice', upTo: 0 });
    assert.equal(marked.count, 2);

    const deleted = await alice.call<WriteReply>('DeleteMessages', { request: rid(), ids: sent.slice(0, 2) });
    assert.equal(deleted.count, 2);
    const left = await bob.call<Messages>('History', { with: 'alice', read: { minIndex: deleted.appliedIndex } });
    assert.deepEqual(left.messages.map((m) => m.text), ['three', 'four']);
  });

  test('channels: create, list, join, post, history, leave', async () => {
    const created = await alice.call<WriteReply>('CreateChannel', { request: rid(), channel: '#dev' });
    assert.ok(created.channelId > 1);
    await bob.call('JoinChannel', { request: rid(), channel: 'dev' });
    const post = await bob.call<WriteReply>('PostChannel', { request: rid(), channel: '#dev', text: 'hello dev' });
    const history = await carol.call<Messages>('ChannelHistory', { channel: 'dev', read: { minIndex: post.appliedIndex } });
    assert.deepEqual(history.messages.map((m) => [m.from, m.channel, m.text]), [['bob', 'dev', 'hello dev']]);
    const list = await bob.call<{ channels: { name: string; members: number; joined: boolean }[] }>('Channels', { read: { minIndex: post.appliedIndex } });
    assert.deepEqual(list.channels.find((c) => c.name === 'dev'), { id: created.channelId, name: 'dev', members: 2, joined: true });
    await bob.call('LeaveChannel', { request: rid(), channel: 'dev' });
    assert.deepEqual(await failure(bob, 'PostChannel', { request: rid(), channel: 'dev', text: 'x' }),
      [grpc.status.FAILED_PRECONDITION, 'not-member']);
    assert.deepEqual(await failure(alice, 'JoinChannel', { request: rid(), channel: 'dev' }), [grpc.status.ALREADY_EXISTS, 'already-member']);
    assert.deepEqual(await failure(alice, 'JoinChannel', { request: rid(), channel: 'nope' }), [grpc.status.NOT_FOUND, 'no-such-channel']);
  });

  test('status: role, term, leader, indexes and every member with its match index', async () => {
    const leader = await group.leader();
    const status = await peers[leader]?.call<{
      id: string; pid: number; role: string; leader: string; commitIndex: number; appliedIndex: number; lastIndex: number;
      members: { id: string; address: string; role: string; matchIndex: number; reachable: boolean }[];
    }>('Status');
    assert.equal(status?.role, 'leader');
    assert.equal(status?.pid, process.pid);
    assert.equal(status?.leader, status?.id);
    assert.ok((status?.commitIndex ?? 0) > 0 && (status?.lastIndex ?? 0) >= (status?.commitIndex ?? 0));
    assert.deepEqual(status?.members.map((m) => [m.id, m.address, m.role]), group.addresses.map((a, i) => [`p${i + 1}`, a, 'voter']));
    await waitFor(async () => {
      const s = await peers[leader]?.call<{ members: { matchIndex: number; reachable: boolean }[] }>('Status');
      return s?.members.every((m) => m.matchIndex > 0 && m.reachable);
    }, 'every member replicated and reachable');
  });

  test('transfer leadership answers once the leader has moved', async () => {
    const from = await group.leader();
    const to = (from + 1) % 3;
    const status = await peers[to === 0 ? 1 : 0]?.call<{ leader: string }>('TransferLeadership', { to: `p${to + 1}` });
    assert.equal(status?.leader, `p${to + 1}`);
    assert.equal(await group.leader(), to);
    assert.deepEqual(await failure(peers[0] as TestClient, 'TransferLeadership', { to: 'p9' }), [grpc.status.INVALID_ARGUMENT, 'invalid-argument']);
  });

  test('a repeated request id is applied once: same reply, duplicate=true, one message', async () => {
    const request = rid();
    const first = await alice.call<WriteReply>('SendDirect', { request, to: 'carol', text: 'exactly once' });
    // The retry goes to another peer, as a client would after losing its connection, once that
    // peer has applied the original (had it not yet, it would answer when it does, with the
    // same result and duplicate=false: see WriteResult.duplicate).
    await peers[2]?.call('Unread', { read: { minIndex: first.appliedIndex } }, as('alice'));
    const again = await peers[2]?.call<WriteReply>('SendDirect', { request, to: 'carol', text: 'exactly once' }, as('alice'));
    assert.equal(first.duplicate, false);
    assert.equal(again?.duplicate, true);
    assert.equal(again?.messageId, first.messageId);
    const history = await carol.call<Messages>('History', { with: 'alice', read: { minIndex: again?.appliedIndex } });
    assert.equal(history.messages.filter((m) => m.text === 'exactly once').length, 1);
  });

  test('alice cannot delete bob\'s message (PERMISSION_DENIED), and it stays', async () => {
    const his = await bob.call<WriteReply>('SendDirect', { request: rid(), to: 'alice', text: 'mine, not yours' });
    const refused = await alice.failure('DeleteMessages', { request: rid(), ids: [his.messageId] });
    assert.deepEqual(refused, {
      status: grpc.status.PERMISSION_DENIED, code: 'forbidden', details: `message ${his.messageId} is not yours: only its sender can delete it`,
    });
    const history = await alice.call<Messages>('History', { with: 'bob' });
    assert.ok(history.messages.some((m) => m.id === his.messageId));
  });

  test('errors: status, qc-code and one clear line', async () => {
    const p = peers[1] as TestClient;
    const cases: [string, object, Meta, grpc.status, string, string | RegExp][] = [
      ['SendDirect', { request: rid(), to: 'zed', text: 'hi' }, as('alice'), grpc.status.NOT_FOUND, 'no-such-user', 'no such user: zed'],
      ['Login', { request: rid(), username: 'zed', password }, {}, grpc.status.NOT_FOUND, 'no-such-user', 'no such user: zed'],
      ['Login', { request: rid(), username: 'alice', password: 'not her password' }, {}, grpc.status.UNAUTHENTICATED, 'wrong-password', 'wrong password'],
      ['Unread', {}, { 'qc-user': 'alice', 'qc-password': 'nope nope' }, grpc.status.UNAUTHENTICATED, 'wrong-password', 'wrong password'],
      ['Unread', {}, { 'qc-token': 'x'.repeat(43) }, grpc.status.UNAUTHENTICATED, 'bad-token', /^the session token is not valid/],
      ['Unread', {}, {}, grpc.status.UNAUTHENTICATED, 'not-logged-in', /^log in first/],
      ['Unread', {}, { 'qc-user': 'alice' }, grpc.status.INVALID_ARGUMENT, 'invalid-argument', 'send qc-user and qc-password together'],
      ['Register', { request: rid(), username: 'has space', password }, {}, grpc.status.INVALID_ARGUMENT, 'invalid-username', /^a username is/],
      ['Register', { request: rid(), username: 'eve', password: 'short' }, {}, grpc.status.INVALID_ARGUMENT, 'invalid-password', /at least 8/],
      ['Register', { request: rid(), username: 'ALICE', password }, {}, grpc.status.ALREADY_EXISTS, 'username-taken', 'the username "ALICE" is taken'],
      ['SendDirect', { request: rid(), to: 'bob', text: '' }, as('alice'), grpc.status.INVALID_ARGUMENT, 'invalid-message', 'a message cannot be empty'],
      ['SendDirect', { request: rid(), to: 'alice', text: 'me' }, as('alice'), grpc.status.INVALID_ARGUMENT, 'invalid-argument', /to yourself/],
      ['CreateChannel', { request: rid(), channel: 'general' }, as('alice'), grpc.status.ALREADY_EXISTS, 'channel-exists', '#general already exists'],
      ['DeleteMessages', { request: rid(), ids: [999_999] }, as('alice'), grpc.status.NOT_FOUND, 'no-such-message', 'message 999999 does not exist'],
      ['Unread', { read: { minIndex: 1e9 } }, as('alice'), grpc.status.DEADLINE_EXCEEDED, 'timeout', /has not caught up to index 1000000000/],
    ];
    for (const [method, request, meta, status, code, details] of cases) {
      const f = await p.failure(method, request, meta);
      assert.deepEqual([f.status, f.code], [status, code], `${method} ${JSON.stringify(request)}: ${f.details}`);
      if (typeof details === 'string') assert.equal(f.details, details);
      else assert.match(f.details, details);
    }
  });

  test('bad input is refused with INVALID_ARGUMENT and the peer keeps serving', async () => {
    const p = peers[2] as TestClient;
    const bad: [string, object, Meta?][] = [
      ['ListAccounts', { pattern: '*', limit: 100_000 }],
      ['History', { with: 'bob', cursor: 'not-a-cursor' }],
      ['History', { with: '' }],
      ['DeleteMessages', { request: rid(), ids: [] }],
      ['DeleteMessages', { request: rid(), ids: [0] }],
      ['DeleteMessages', { request: rid(), ids: Array.from({ length: 1001 }, (_, i) => i + 1) }],
      ['SendDirect', { request: { clientId: 'x'.repeat(65), seq: 1 }, to: 'bob', text: 'hi' }],
      ['SendDirect', { request: { clientId: 'c', seq: 0 }, to: 'bob', text: 'hi' }],
      ['SendDirect', { request: { clientId: '', seq: 5 }, to: 'bob', text: 'hi' }],
      ['SendDirect', { request: rid(), to: 'bob', text: 'x'.repeat(16_001) }],
      ['ReadUnread', { request: rid(), count: 501 }],
      ['CreateChannel', { request: rid(), channel: 'no spaces' }],
      ['Unread', {}, { 'qc-min-index': 'soon' }],
    ];
    for (const [method, request, meta] of bad) {
      const f = await p.failure(method, request, { ...as('alice'), ...meta });
      assert.equal(f.status, grpc.status.INVALID_ARGUMENT, `${method} ${JSON.stringify(request).slice(0, 80)}: ${f.code} ${f.details}`);
      assert.ok(f.details.length > 0 && !f.details.includes('\n'), f.details);
    }
    assert.equal((await p.call<{ role: string }>('Status')).role !== '', true);
  });

  test('logout and delete account', async () => {
    await peers[0]?.call('Register', { request: rid(), username: 'frank', password });
    const { token } = await peers[0]?.call<{ token: string }>('Login', { request: rid(), username: 'frank', password }) ?? { token: '' };
    const ended = await peers[1]?.call<WriteReply>('Logout', { request: rid() }, { 'qc-token': token });
    assert.equal(ended?.count, 1);
    assert.equal((await peers[0]?.failure('Unread', { read: { minIndex: ended?.appliedIndex } }, { 'qc-token': token }))?.code, 'bad-token');
    await alice.call('SendDirect', { request: rid(), to: 'frank', text: 'bye' });
    const gone = await peers[2]?.call<WriteReply>('DeleteAccount', { request: rid() }, as('frank'));
    assert.equal(gone?.count, 1, 'the message frank received went with him');
    // Alice's peer may not have applied the deletion yet (another peer took it): she asks it to
    // catch up first, as a client that learnt of it would. Without that, the write may resolve
    // frank on a replica that still has him, and fail later as "account 5 does not exist".
    const f = await alice.failure('SendDirect', { request: rid(), to: 'frank', text: 'hello?' }, { 'qc-min-index': String(gone?.appliedIndex) });
    assert.deepEqual([f.code, f.details], ['no-such-user', 'no such user: frank']);
  });
});

async function failure(client: TestClient, method: string, request: object): Promise<[grpc.status, string]> {
  const f = await client.failure(method, request);
  return [f.status, f.code];
}
