import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCommand } from '../../main/chat/commands.js';
import { ChatReplica } from '../helpers/chat-replica.js';

describe('create account', () => {
  test('stores the account, joins #general, keeps only a salted hash', async (t) => {
    const r = ChatReplica.open(t);
    const id = await r.account('alice', 'secret-password');
    assert.deepEqual(r.queries.account(id)?.username, 'alice');
    assert.deepEqual(r.queries.channelsOf(id).map((c) => c.name), ['general']);
    const stored = r.db.prepare('SELECT password_hash FROM accounts WHERE id = ?').pluck().get(id) as string;
    assert.match(stored, /^scrypt\$/);
    assert.ok(!stored.includes('secret-password'));
  });

  test('the password never enters the log: the entry carries the hash and the time', async (t) => {
    const r = ChatReplica.open(t);
    const command = await r.prepare({ t: 'createAccount', username: 'alice', password: 'secret-password' });
    const entry = encodeCommand(command).toString();
    assert.ok(!entry.includes('secret-password'));
    assert.match(entry, /"hash":"scrypt\$1024\$8\$1\$/);
    assert.equal(typeof command.at, 'number');
  });

  test('two accounts with the same password get different hashes', async (t) => {
    const r = ChatReplica.open(t);
    await r.account('alice', 'same-password');
    await r.account('bob', 'same-password');
    const hashes = r.db.prepare('SELECT password_hash FROM accounts').pluck().all();
    assert.equal(new Set(hashes).size, 2);
  });

  for (const username of ['', 'x'.repeat(33), 'has space', 'émile', 'a/b', 'semi;colon']) {
    test(`refuses the username ${JSON.stringify(username)}`, async (t) => {
      const r = ChatReplica.open(t);
      await assert.rejects(r.prepare({ t: 'createAccount', username, password: 'long enough' }), { code: 'invalid-username' });
    });
  }

  test('accepts 1 and 32 characters of the allowed set', async (t) => {
    const r = ChatReplica.open(t);
    await r.account('a');
    await r.account('A_b.c-9'.padEnd(32, 'z'));
    assert.equal(r.queries.listAccounts('*').items.length, 2);
  });

  test('usernames are unique regardless of case', async (t) => {
    const r = ChatReplica.open(t);
    await r.account('Alice');
    const result = await r.run({ t: 'createAccount', username: 'aLICE', password: 'long enough' });
    assert.deepEqual(result.ok ? null : result.code, 'username-taken');
  });

  test('passwords have at least 8 characters', async (t) => {
    const r = ChatReplica.open(t);
    await assert.rejects(r.prepare({ t: 'createAccount', username: 'bob', password: '1234567' }), { code: 'invalid-password' });
    await assert.rejects(r.prepare({ t: 'createAccount', username: 'bob', password: 'x'.repeat(1025) }), { code: 'invalid-password' });
    await r.account('bob', '12345678');
  });

  test('apply re-checks the username (an entry is data from another peer)', async (t) => {
    const r = ChatReplica.open(t);
    const good = await r.prepare({ t: 'createAccount', username: 'bob', password: 'long enough' });
    const [applied] = r.applyCommands([ChatReplica.tamper(good, { username: 'bad name' })]);
    assert.equal(applied?.result.ok === false && applied.result.code, 'invalid-username');
    assert.equal(r.queries.accountByName('bob'), null);
  });

  test('apply refuses a command whose hash is not a scrypt hash', async (t) => {
    const r = ChatReplica.open(t);
    const good = await r.prepare({ t: 'createAccount', username: 'bob', password: 'long enough' });
    const [applied] = r.applyCommands([ChatReplica.tamper(good, { hash: 'plaintext-password' })]);
    assert.equal(applied?.result.ok === false && applied.result.code, 'malformed-command');
  });
});

describe('login check (queries, before a login is proposed)', () => {
  test('accepts the right password, whatever the case of the name', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice', 'alice-password');
    assert.equal((await r.queries.verifyLogin('ALICE', 'alice-password')).id, alice);
  });

  test('tells an unknown user from a wrong password, in one clear line each', async (t) => {
    const r = ChatReplica.open(t);
    await r.account('alice', 'alice-password');
    await assert.rejects(r.queries.verifyLogin('alice', 'alice-passwort'), { code: 'bad-login', message: 'wrong password' });
    await assert.rejects(r.queries.verifyLogin('nobody', 'alice-password'), { code: 'unknown-account', message: 'no such user: nobody' });
  });

  test('refuses an absurdly long password without hashing it', async (t) => {
    const r = ChatReplica.open(t);
    await r.account('alice', 'alice-password');
    await assert.rejects(r.queries.verifyLogin('alice', 'x'.repeat(1_000_000)), { code: 'bad-login' });
  });
});

describe('delete account', () => {
  test('only the owner can delete an account', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    const result = await r.run({ t: 'deleteAccount', actor: alice, account: bob });
    assert.equal(result.ok === false && result.code, 'forbidden');
    assert.notEqual(r.queries.account(bob), null);
  });

  test('frees the username, deletes received messages, keeps sent ones as from a deleted account', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    const toBob = await r.ok({ t: 'sendDirect', actor: alice, to: bob, text: 'for bob' });
    const fromBob = await r.ok({ t: 'sendDirect', actor: bob, to: alice, text: 'from bob' });
    const post = await r.ok({ t: 'postChannel', actor: bob, channel: 1, text: 'bob in general' });
    assert.deepEqual(await r.ok({ t: 'deleteAccount', actor: bob, account: bob }), { deletedMessages: 1 });

    assert.equal(r.queries.account(bob), null);
    assert.deepEqual(r.queries.conversation(alice, bob).items.map((m) => [m.id, m.senderName, m.unread]), [[fromBob.messageId, null, true]]);
    assert.ok(!r.queries.conversation(alice, bob).items.some((m) => m.id === toBob.messageId));
    assert.deepEqual(r.queries.channelHistory(1).items.map((m) => [m.id, m.senderId, m.senderName]), [[post.messageId, bob, null]]);
    assert.deepEqual(r.queries.unread(alice), { total: 1, conversations: [{ peerId: bob, peerName: null, unread: 1 }] });
    assert.equal(r.queries.channelByName('general')?.members, 1);

    const newBob = await r.account('bob');
    assert.ok(newBob > bob, 'ids are never reused');
    assert.equal(r.queries.conversation(alice, newBob).items.length, 0);
  });

  test('a deleted account can no longer act', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    await r.ok({ t: 'deleteAccount', actor: bob, account: bob });
    const sent = await r.run({ t: 'sendDirect', actor: bob, to: alice, text: 'ghost' });
    assert.equal(sent.ok === false && sent.code, 'unknown-account');
    const again = await r.run({ t: 'deleteAccount', actor: bob, account: bob });
    assert.equal(again.ok === false && again.code, 'unknown-account');
  });

  test('the recipient can still mark a deleted sender\'s messages read', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    const { messageId } = await r.ok({ t: 'sendDirect', actor: bob, to: alice, text: 'bye' });
    await r.ok({ t: 'deleteAccount', actor: bob, account: bob });
    assert.deepEqual(await r.ok({ t: 'markRead', actor: alice, peer: bob, upTo: messageId }), { marked: 1, senders: [bob] });
    assert.equal(r.queries.unread(alice).total, 0);
  });
});

describe('list accounts', () => {
  async function withNames(t: Parameters<typeof ChatReplica.open>[0], names: string[]): Promise<ChatReplica> {
    const r = ChatReplica.open(t);
    for (const name of names) await r.account(name);
    return r;
  }
  const names = (r: ChatReplica, pattern: string) => r.queries.listAccounts(pattern, { limit: 500 }).items.map((a) => a.username);

  test('"*" matches any run, "?" one character, case-insensitively', async (t) => {
    const r = await withNames(t, ['alice', 'Alicia', 'bob', 'al', 'malice']);
    assert.deepEqual(names(r, 'ali*'), ['alice', 'Alicia']);
    assert.deepEqual(names(r, 'AL?C*'), ['alice', 'Alicia']);
    assert.deepEqual(names(r, '*lice'), ['alice', 'malice']);
    assert.deepEqual(names(r, 'al'), ['al']);
    assert.deepEqual(names(r, '*'), ['al', 'alice', 'Alicia', 'bob', 'malice']);
  });

  test('every other character is literal, including SQL LIKE and GLOB specials', async (t) => {
    const r = await withNames(t, ['a_b', 'axb', 'a.b', 'a-b']);
    assert.deepEqual(names(r, 'a_b'), ['a_b']);
    assert.deepEqual(names(r, 'a.b'), ['a.b']);
    assert.deepEqual(names(r, 'a%'), []);
    assert.deepEqual(names(r, '[a]*'), []);
    assert.deepEqual(names(r, 'a[_]b'), []);
    assert.deepEqual(names(r, 'a?b'), ['a-b', 'a.b', 'a_b', 'axb']);
  });

  test('pages follow the cursor to the end', async (t) => {
    const all = Array.from({ length: 7 }, (_, i) => `user${i}`);
    const r = await withNames(t, all);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = r.queries.listAccounts('user*', { limit: 3, cursor });
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((a) => a.username));
      cursor = page.next;
    } while (cursor !== null);
    assert.deepEqual(seen, all);
  });

  test('refuses page sizes outside 1–500', async (t) => {
    const r = ChatReplica.open(t);
    assert.throws(() => r.queries.listAccounts('*', { limit: 0 }), { code: 'invalid-argument' });
    assert.throws(() => r.queries.listAccounts('*', { limit: 501 }), { code: 'invalid-argument' });
  });
});
