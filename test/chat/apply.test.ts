import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { encodeCommand, type ChatResult, type Command } from '../../main/chat/commands.js';
import { singleWriteCommands } from '../../main/chat/handlers.js';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { expireEvery, latestRules, mergeEvery, sessionWindow, type SessionLimits } from '../../main/chat/sessions.js';
import { encodeConfChange } from '../../main/raft/confchange.js';
import { EntryType } from '../../main/raft/types.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { ChatReplica } from '../helpers/chat-replica.js';
import { chatWorkload, seededRandom } from '../helpers/chat-workload.js';
import { tempDir } from '../helpers/temp-dir.js';

const messageCount = (r: ChatReplica) => r.db.prepare('SELECT count(*) FROM messages').pluck().get() as number;
/** Every kept result, wherever it is kept (recent_results until the next merge, then client_results). */
const keptResults = '(SELECT client_id, seq, log_index FROM client_results UNION ALL SELECT client_id, seq, log_index FROM recent_results)';
const pin = (c: string, s: number): Command => ({ c, s, at: 0, t: 'pinMember', node: `${c}-${s}`, context: 'c' });
/** Applies pins of client `c` until the applied index is `index`. */
const fillTo = (r: ChatReplica, c: string, index: number) => {
  const from = r.machine.applied().index;
  r.applyCommands(Array.from({ length: index - from }, (_, i) => pin(c, from + i + 1)));
};

async function pair(t: TestContext) {
  const r = ChatReplica.open(t);
  return { r, alice: await r.account('alice'), bob: await r.account('bob') };
}

describe('exactly once', () => {
  test('the same (client, seq) applied twice stores one message and returns the first result', async (t) => {
    const { r, alice, bob } = await pair(t);
    const command = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'once' });
    const [first] = r.applyCommands([command]);
    const [second] = r.applyCommands([command]);
    assert.equal(first?.duplicate, false);
    assert.deepEqual([second?.result, second?.duplicate], [first?.result, true]);
    assert.equal(messageCount(r), 1);
  });

  test('a retry in the same batch is a duplicate too', async (t) => {
    const { r, alice, bob } = await pair(t);
    const command = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'once' });
    const results = r.applyCommands([command, command]);
    assert.deepEqual(results.map((x) => x.duplicate), [false, true]);
    assert.equal(messageCount(r), 1);
  });

  test('a retried refusal returns the same refusal, even when it would now succeed', async (t) => {
    const { r, alice } = await pair(t);
    const command = await r.prepare({ t: 'sendDirect', actor: alice, to: 3, text: 'to carol' });
    const [first] = r.applyCommands([command]);
    await r.account('carol'); // id 3 exists now
    const [retry] = r.applyCommands([command]);
    assert.equal(first?.result.ok === false && first.result.code, 'unknown-recipient');
    assert.deepEqual(retry?.result, first?.result);
    assert.equal(messageCount(r), 0);
  });

  test('commands may arrive out of order within the window; older ones are refused, never reapplied', async (t) => {
    const { r, alice, bob } = await pair(t);
    const base = 1000;
    const commands: Command[] = [];
    for (let i = 0; i <= sessionWindow + 1; i++) {
      commands.push(await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: `m${i}` }, base + i));
    }
    const [oldest, second, ...rest] = commands as [Command, Command, ...Command[]];
    r.applyCommands([oldest, ...rest.reverse()]); // seq base, then base+129 down to base+2: all new
    assert.equal(messageCount(r), sessionWindow + 1);
    // The newest is base+129, so results are kept for base+2.. only: base+1 can no longer be told apart.
    const [late] = r.applyCommands([second]);
    assert.equal(late?.result.ok === false && late.result.code, 'session-expired');
    // base's result is kept until the next merge, which keeps each client's last sessionWindow.
    assert.equal(r.applyCommands([oldest])[0]?.duplicate, true);
    fillTo(r, 'other', mergeEvery);
    const [retryOld] = r.applyCommands([oldest]);
    assert.equal(retryOld?.result.ok === false && retryOld.result.code, 'session-expired');
    const [retryRecent] = r.applyCommands([rest[0] as Command]);
    assert.equal(retryRecent?.duplicate, true);
    assert.equal(messageCount(r), sessionWindow + 1);
  });

  test('a batch that rolls back leaves none of its sequence numbers behind', async (t) => {
    const { r, alice, bob } = await pair(t);
    const far = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'rolled back' }, 5000);
    const [entry] = r.entries([encodeCommand(far)]);
    assert.ok(entry);
    assert.throws(() => r.machine.applyBatch([entry, { ...entry, index: entry.index + 2 }]), /each entry applies once/);
    // Had seq 5000 been remembered, 1000 would be far below it: "session-expired".
    const [older] = r.applyCommands([await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'applied' }, 1000)]);
    assert.equal(older?.result.ok, true);
    const [again] = r.applyCommands([far]);
    assert.deepEqual([again?.duplicate, again?.result.ok], [false, true]);
    assert.equal(messageCount(r), 2);
  });

  test('a new machine on the same database knows the newest command of each client', async (t) => {
    const { r, alice, bob } = await pair(t);
    const newest = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'newest' }, 900);
    r.applyCommands([newest]);
    const reopened = new ChatReplica(r.db);
    const [retry] = reopened.applyCommands([newest]);
    const [tooOld] = reopened.applyCommands([await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'old' }, 900 - sessionWindow)]);
    assert.equal(retry?.duplicate, true);
    assert.equal(tooOld?.result.ok === false && tooOld.result.code, 'session-expired');
    assert.equal(messageCount(r), 1);
  });

  test('a chat.db from before v5 keeps its sessions: retries and expiry read from client_results', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const v4 = openDatabase(path, { ...chatSchema, migrations: chatSchema.migrations.slice(0, 4) });
    const result = JSON.stringify({ ok: true, value: { messageId: 41 } });
    const insert = v4.prepare('INSERT INTO client_results (client_id, seq, result) VALUES (?, ?, ?)');
    for (let seq = 200; seq <= 330; seq++) insert.run('old-client', seq, result); // 199 and below evicted
    v4.prepare('INSERT INTO client_sessions (client_id, max_seq) VALUES (?, ?)').run('old-client', 330);
    v4.close();
    const db = openDatabase(path, chatSchema);
    t.after(() => db.close());
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'client_%' ORDER BY name").pluck().all();
    assert.deepEqual(tables, ['client_results']);
    const positions = db.prepare('SELECT DISTINCT log_index FROM client_results').pluck().all();
    assert.deepEqual(positions, [0], 'v6: results from before it have no log position (left out of expiry)');
    const r = new ChatReplica(db, 'old-client');
    const pin = (s: number): Command => ({ c: 'old-client', s, at: 0, t: 'pinMember', node: `n${s}`, context: 'c' });
    const [retry, expired, next] = r.applyCommands([pin(330), pin(199), pin(331)]);
    assert.deepEqual([retry?.duplicate, retry?.result], [true, JSON.parse(result)]);
    assert.equal(expired?.result.ok === false && expired.result.code, 'session-expired');
    assert.deepEqual([next?.duplicate, next?.result], [false, { ok: true, value: { pinned: true } }]);
  });

  test('sessions of different clients are independent', async (t) => {
    const { r, alice, bob } = await pair(t);
    const a = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'from client a' }, 7);
    const b = { ...a, c: 'another-client' };
    assert.deepEqual(r.applyCommands([a, b]).map((x) => x.duplicate), [false, false]);
    assert.equal(messageCount(r), 2);
  });
});

describe('where results are kept (recent_results, then client_results)', () => {
  const count = (r: ChatReplica, table: string) => r.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

  test('results move to client_results at every mergeEvery-th entry; retries are answered before and after, also by a reopened machine', (t) => {
    const r = ChatReplica.open(t, 'x');
    fillTo(r, 'a', 300);
    assert.deepEqual([count(r, 'recent_results'), count(r, 'client_results')], [300, 0]);
    const reopened = new ChatReplica(r.db, 'x'); // loads recent_results into memory
    const [retry, oldRetry, next] = reopened.applyCommands([pin('a', 250), pin('a', 10), pin('a', 301)]);
    assert.deepEqual([retry?.duplicate, oldRetry?.duplicate, next?.duplicate], [true, true, false]);
    assert.deepEqual(next?.result, { ok: true, value: { pinned: true } });
    fillTo(reopened, 'b', mergeEvery);
    assert.equal(count(r, 'recent_results'), 0);
    const kept = r.db.prepare("SELECT min(seq), max(seq), count(*) FROM client_results WHERE client_id = 'a'").raw().get();
    assert.deepEqual(kept, [301 - sessionWindow + 1, 301, sessionWindow], 'a\'s last sessionWindow results');
    const [afterMerge, tooOld, ahead] = reopened.applyCommands([pin('a', 250), pin('a', 10), pin('a', 302)]);
    assert.deepEqual([afterMerge?.duplicate, ahead?.duplicate], [true, false]);
    assert.equal(tooOld?.result.ok === false && tooOld.result.code, 'session-expired');
  });

  test('a batch that rolls back across a merge leaves the results where they were, in memory too', (t) => {
    const r = ChatReplica.open(t, 'x');
    fillTo(r, 'a', mergeEvery - 1);
    const [atMerge] = r.entries([encodeCommand(pin('a', mergeEvery))]);
    assert.ok(atMerge);
    assert.throws(() => r.machine.applyBatch([atMerge, { ...atMerge, index: atMerge.index + 2 }]), /each entry applies once/);
    assert.deepEqual([count(r, 'recent_results'), count(r, 'client_results')], [mergeEvery - 1, 0]);
    // Had memory kept the merge's emptied recent results, this retry would be applied again.
    const [retry] = r.applyCommands([pin('a', mergeEvery - 1)]);
    assert.equal(retry?.duplicate, true);
    assert.equal(count(r, 'recent_results'), 0, 'merged at the retry, the mergeEvery-th entry');
  });
});

describe('session expiry (results expire by log position)', () => {
  const results = (r: ChatReplica) => r.db.prepare(`SELECT count(*) FROM ${keptResults}`).pluck().get() as number;
  const code = (applied: { result: ChatResult } | undefined) => (applied?.result.ok === false ? applied.result.code : 'ok');

  test('before the group adopts rules 2 nothing expires and any client may begin anywhere; from its entry on, both hold', (t) => {
    const r = ChatReplica.open(t, 'x', { resultsKeptFor: 10 });
    assert.equal(r.machine.rulesVersion, 1, 'a new chat.db applies as v5 did until the group says otherwise');
    const [anywhere] = r.applyCommands([pin('old-style', 500)]);
    assert.equal(code(anywhere), 'ok');
    fillTo(r, 'busy', expireEvery);
    assert.equal(r.applyCommands([pin('old-style', 500)])[0]?.duplicate, true, 'no expiry under rules 1');
    assert.deepEqual(r.db.prepare(`SELECT DISTINCT log_index FROM ${keptResults}`).pluck().all(), [0]);
    const [adopted] = r.adoptRules();
    assert.deepEqual(adopted?.result, { ok: true, value: { version: 2 } });
    assert.equal(r.machine.rulesVersion, 2);
    assert.equal(code(r.applyCommands([pin('new-style', 500)])[0]), 'session-expired');
    assert.equal(code(r.applyCommands([{ c: 'newer', s: 1, at: 0, t: 'adoptRules', version: 3 }])[0]), 'invalid-argument');
    assert.equal(new ChatReplica(r.db, 'y').machine.rulesVersion, 2, 'kept in chat.db');
  });

  test('a result answers retries for resultsKeptFor entries at least; then its client is told its session is gone', async (t) => {
    const r = ChatReplica.open(t, 'test-client', { resultsKeptFor: 100 });
    r.adoptRules();
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    const other = async (seq: number, text: string) => ({ ...(await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text }, seq)), c: 'other' });
    const jump = await other(200, 'jump');
    r.applyCommands([await other(1, 'first'), jump]); // a known client may skip ahead; jump is index 4
    fillTo(r, 'busy', 103);
    const [retry] = r.applyCommands([jump]); // index 104: resultsKeptFor past it, still kept
    assert.deepEqual([retry?.duplicate, code(retry)], [true, 'ok']);
    fillTo(r, 'busy', 2 * expireEvery - 1);
    assert.equal(code(r.applyCommands([jump])[0]), 'ok', 'kept until the next multiple of expireEvery');
    const [late, next] = r.applyCommands([jump, await other(201, 'next')]); // 4 expired at 2 × expireEvery
    for (const refused of [late, next]) {
      assert.equal(code(refused), 'session-expired');
      assert.match(refused?.result.ok === false ? refused.result.message : '', /client other has no session here .*new client id/);
    }
    assert.equal(messageCount(r), 2, 'nothing applied twice');
  });

  test('a client the group does not know begins with a sequence number of 1 to sessionWindow', (t) => {
    const r = ChatReplica.open(t, 'fresh');
    r.adoptRules();
    const [tooHigh, highest, lowest] = r.applyCommands([pin('a', sessionWindow + 1), pin('b', sessionWindow), pin('c', 1)]);
    assert.deepEqual([code(tooHigh), code(highest), code(lowest)], ['session-expired', 'ok', 'ok']);
  });

  test('the table stays bounded however many clients come and go; rows from before v6 are left alone', (t) => {
    const resultsKeptFor = 10;
    const r = ChatReplica.open(t, 'one-shot', { resultsKeptFor });
    r.adoptRules();
    r.db.prepare('INSERT INTO client_results (client_id, seq, result) VALUES (?, ?, ?)').run('legacy', 7, '{"ok":true,"value":{}}');
    for (let i = 0; i < 200; i += 20) r.applyCommands(Array.from({ length: 20 }, (_, j) => pin(`one-shot-${i + j}`, 1)));
    const last = r.machine.applied().index;
    const oldestKept = Math.floor(last / expireEvery) * expireEvery - resultsKeptFor + 1;
    assert.equal(r.db.prepare(`SELECT min(log_index) FROM ${keptResults} WHERE log_index > 0`).pluck().get(), oldestKept);
    assert.equal(results(r), last - oldestKept + 1 + 2, 'the results since then, the legacy row and adoptRules\' (recorded under rules 1)');
    assert.ok(results(r) <= resultsKeptFor + expireEvery + 1);
    assert.equal(r.applyCommands([pin('legacy', 7)])[0]?.duplicate, true);
  });

  test('a client whose every result expired is read again, not remembered from the cache', (t) => {
    const r = ChatReplica.open(t, 'x', { resultsKeptFor: 10 });
    r.adoptRules();
    r.applyCommands([pin('gone', 1), pin('gone', 150)]); // the machine has 'gone' cached at 150
    fillTo(r, 'busy', expireEvery);
    const [after] = r.applyCommands([pin('gone', 151)]);
    assert.equal(code(after), 'session-expired', 'had the cache kept 150, 151 would have been applied as new');
  });
});

describe('entries that are not commands', () => {
  const malformed: [string, Uint8Array][] = [
    ['random bytes', Uint8Array.from([0xff, 0x00, 0x13, 0x37])],
    ['JSON that is not an object', Buffer.from('[1,2,3]')],
    ['an unknown command type', Buffer.from('{"c":"x","s":1,"at":0,"t":"launchRockets"}')],
    ['a missing field', Buffer.from('{"c":"x","s":1,"at":0,"t":"sendDirect","actor":1,"to":2}')],
    ['an extra field', Buffer.from('{"c":"x","s":1,"at":0,"t":"joinChannel","actor":1,"channel":1,"admin":true}')],
    ['a fractional id', Buffer.from('{"c":"x","s":1,"at":0,"t":"joinChannel","actor":1.5,"channel":1}')],
    ['a negative sequence number', Buffer.from('{"c":"x","s":-1,"at":0,"t":"joinChannel","actor":1,"channel":1}')],
  ];
  for (const [name, data] of malformed) {
    test(`${name}: an error result, nothing changed, the applied index advances`, async (t) => {
      const { r } = await pair(t);
      const before = r.hash();
      const index = r.machine.applied().index;
      const [applied] = r.applyData([data]);
      assert.equal(applied?.result.ok === false && applied.result.code, 'malformed-command');
      assert.equal(r.machine.applied().index, index + 1);
      r.db.prepare('UPDATE raft_applied SET idx = ?, term = ?').run(index, 1);
      assert.equal(r.hash(), before, 'only the applied index changed');
    });
  }

  test('the client of a malformed command is still named, so it can be answered', async (t) => {
    const { r } = await pair(t);
    const [applied] = r.applyData([Buffer.from('{"c":"me","s":9,"t":"nope"}')]);
    assert.deepEqual([applied?.clientId, applied?.seq], ['me', 9]);
  });

  test('no-op entries and conf changes without a member context only advance the applied index', async (t) => {
    const { r } = await pair(t);
    const before = r.hash();
    const index = r.machine.applied().index;
    assert.deepEqual(r.applyData([new Uint8Array(0), new Uint8Array(0)]), []);
    assert.deepEqual(r.applyData([encodeConfChange({ type: 'addLearner', node: 'n4' })], EntryType.ConfChange), []);
    assert.equal(r.machine.applied().index, index + 3);
    r.db.prepare('UPDATE raft_applied SET idx = ?, term = ?').run(index, 1);
    assert.equal(r.hash(), before);
  });
});

describe('the applied index', () => {
  test('is recorded with the batch; a replayed or skipped entry is refused and nothing applies', async (t) => {
    const { r, alice, bob } = await pair(t);
    const command = await r.prepare({ t: 'sendDirect', actor: alice, to: bob, text: 'x' });
    const [entry] = r.entries([encodeCommand(command)]);
    assert.ok(entry);
    const index = r.machine.applied().index;
    const replay = { ...entry, index };
    assert.throws(() => r.machine.applyBatch([replay]), /each entry applies once/);
    const gap = { ...entry, index: index + 3 };
    assert.throws(() => r.machine.applyBatch([gap]), /each entry applies once/);
    assert.throws(() => r.machine.applyBatch([entry, gap]), /each entry applies once/);
    assert.deepEqual([messageCount(r), r.machine.applied().index], [0, index], 'the good first entry rolled back too');
    const stored = r.db.prepare('SELECT idx FROM raft_applied').pluck().get();
    assert.equal(stored, index);
  });

  test('survives reopening the database', async (t) => {
    const { r, alice, bob } = await pair(t);
    await r.ok({ t: 'sendDirect', actor: alice, to: bob, text: 'x' });
    const reopened = new ChatReplica(r.db);
    assert.deepEqual(reopened.machine.applied(), r.machine.applied());
  });
});

describe('determinism', () => {
  async function preparedLog(t: TestContext, seed: number): Promise<Uint8Array[]> {
    const source = ChatReplica.open(t);
    const log: Uint8Array[] = [];
    for (const request of chatWorkload(seed, 6, 600)) log.push(encodeCommand(await source.prepare(request)));
    const random = seededRandom(seed + 1);
    // Retries, garbage and no-ops are part of real logs.
    for (let i = 0; i < 40; i++) log.splice(Math.floor(random() * log.length), 0, log[Math.floor(random() * log.length)] as Uint8Array);
    for (let i = 0; i < 10; i++) log.splice(Math.floor(random() * log.length), 0, Buffer.from(`garbage ${i}`), new Uint8Array(0));
    return log;
  }

  for (const limits of [undefined, { resultsKeptFor: 64 }]) {
    test(`two replicas fed the same log in different batches end with identical tables${limits ? ' (results expiring)' : ''}`, async (t) => {
      await sameTables(t, limits);
    });
  }

  async function sameTables(t: TestContext, limits: SessionLimits | undefined): Promise<void> {
    const log = await preparedLog(t, 42);
    // With expiry: the group adopts rules 2 a third of the way in (a leader's adoptRules).
    if (limits) log.splice(Math.floor(log.length / 3), 0, encodeCommand({ c: 'rules:1', s: 1, at: 0, t: 'adoptRules', version: latestRules }));
    // Enough commands of a few clients that results move to client_results at least once.
    const busy = Array.from({ length: mergeEvery }, (_, i) => encodeCommand(pin(`busy-${i % 8}`, Math.floor(i / 8) + 1)));
    log.splice(Math.floor(log.length / 2), 0, ...busy, ...busy.slice(-300));
    const a = ChatReplica.open(t, undefined, limits);
    const b = ChatReplica.open(t, undefined, limits);
    const random = seededRandom(7);
    for (let i = 0; i < log.length; ) {
      const n = 1 + Math.floor(random() * 50);
      a.applyData(log.slice(i, i + n));
      i += n;
    }
    const succeeded = new Set<string>();
    for (const data of log) {
      for (const { result } of b.applyData([data])) if (result.ok) succeeded.add(Object.keys(result.value).join() || 'empty');
    }
    assert.ok(messageCount(a) > 10, `the workload stored messages (${messageCount(a)})`);
    assert.deepEqual([...succeeded].sort(), [
      'accountId', 'channelId', 'deleted,direct,posts', 'deletedMessages', 'empty', 'ended', 'marked,senders', 'messageId', 'pinned',
      ...(limits ? ['version'] : []),
    ]);
    assert.ok(a.machine.applied().index > mergeEvery, 'results were merged at least once');
    assert.equal(a.hash(), b.hash());
    if (limits) assert.ok(a.db.prepare(`SELECT count(*) FROM ${keptResults} WHERE log_index > 0`).pluck().get() as number <= limits.resultsKeptFor + expireEvery, 'results expired');
    b.applyData([new Uint8Array(0)]);
    assert.notEqual(a.hash(), b.hash(), 'the hash sees the applied index');
  }

  test('the hash tells different contents apart', async (t) => {
    const { r, alice, bob } = await pair(t);
    const before = r.hash();
    await r.ok({ t: 'sendDirect', actor: alice, to: bob, text: 'x' });
    const after = r.hash();
    r.db.prepare("UPDATE messages SET body = 'y'").run();
    assert.equal(new Set([before, after, r.hash()]).size, 3);
  });
});

describe('the members table (pinned certificates)', () => {
  const context = (fp: string) => JSON.stringify({ addresses: [], fingerprint: fp.repeat(64) });
  const rows = (r: ChatReplica) => r.db.prepare('SELECT node_id AS node, context, updated_index AS at FROM members ORDER BY node_id').all();
  const pin = (node: string, ctx: string, s: number): Command => ({ c: 'peer', s, at: 0, t: 'pinMember', node, context: ctx });

  test('conf changes with a context write it, a removal deletes it, bootstrap and promote change nothing', (t) => {
    const r = ChatReplica.open(t);
    const base = r.machine.applied().index;
    r.applyData([encodeConfChange({ type: 'bootstrap', conf: { voters: ['n1'], learners: [] } })], EntryType.ConfChange);
    r.applyData([encodeConfChange({ type: 'addLearner', node: 'n2', context: context('a') })], EntryType.ConfChange);
    r.applyData([encodeConfChange({ type: 'promote', node: 'n2' })], EntryType.ConfChange);
    r.applyData([encodeConfChange({ type: 'addVoter', node: 'n3', context: context('b') })], EntryType.ConfChange);
    assert.deepEqual(rows(r), [{ node: 'n2', context: context('a'), at: base + 2 }, { node: 'n3', context: context('b'), at: base + 4 }]);
    r.applyData([encodeConfChange({ type: 'remove', node: 'n2' })], EntryType.ConfChange);
    assert.deepEqual(rows(r).map((x) => (x as { node: string }).node), ['n3']);
  });

  test('pinMember fills a missing row only: the first writer wins', (t) => {
    const r = ChatReplica.open(t);
    r.applyData([encodeConfChange({ type: 'addLearner', node: 'n2', context: context('a') })], EntryType.ConfChange);
    const results = r.applyCommands([pin('n1', context('c'), 1), pin('n1', context('d'), 2), pin('n2', context('e'), 3)]);
    assert.deepEqual(results.map((x) => x.result), [true, false, false].map((pinned) => ({ ok: true, value: { pinned } })));
    assert.deepEqual(rows(r).map((x) => (x as { context: string }).context), [context('c'), context('a')]);
  });

  test('clients cannot ask for pinMember', async (t) => {
    const r = ChatReplica.open(t);
    await assert.rejects(r.prepare({ t: 'pinMember', node: 'n1', context: context('a') } as never), /proposed by peers/);
  });
});

describe('commands applied without a savepoint', () => {
  /** Counts the write statements run on `db` while it is patched (better-sqlite3's Statement#run). */
  function countWrites(t: TestContext, r: ChatReplica): { count: number } {
    const counter = { count: 0 };
    const proto = Object.getPrototypeOf(r.db.prepare('SELECT 1')) as { run: (...args: unknown[]) => unknown };
    const run = proto.run;
    proto.run = function (this: { reader: boolean }, ...args: unknown[]) {
      if (!this.reader) counter.count++;
      return run.apply(this, args);
    };
    t.after(() => void (proto.run = run));
    return counter;
  }

  test('each writes with one statement at most, and writes nothing when it refuses', async (t) => {
    const r = ChatReplica.open(t);
    const writes = countWrites(t, r);
    const handlers = (r.machine as unknown as { handlers: Record<string, (...args: unknown[]) => unknown> }).handlers;
    const tally = new Map<string, { ok: number; refused: number }>();
    for (const name of singleWriteCommands) {
      const handle = (handlers[name] as (...args: unknown[]) => unknown).bind(handlers);
      tally.set(name, { ok: 0, refused: 0 });
      handlers[name] = (...args: unknown[]) => {
        const before = writes.count;
        const counts = tally.get(name) as { ok: number; refused: number };
        try {
          const value = handle(...args);
          assert.ok(writes.count - before <= 1, `${name} ran ${writes.count - before} write statements`);
          counts.ok++;
          return value;
        } catch (err) {
          assert.equal(writes.count - before, 0, `${name} wrote before it refused`);
          counts.refused++;
          throw err;
        }
      };
    }
    for (const request of chatWorkload(11, 6, 800)) r.applyCommands([await r.prepare(request)]);
    r.applyCommands([0, 1].map((s) => ({ c: 'pins', s: s + 1, at: 0, t: 'pinMember', node: 'n1', context: `context ${s}` }) as Command));
    r.adoptRules();
    for (const [name, counts] of tally) assert.ok(counts.ok > 0, `${name} ran (${JSON.stringify(counts)})`);
    const refused = [...tally].filter(([, counts]) => counts.refused > 0).map(([name]) => name).sort();
    assert.ok(refused.length >= 5, `refusals were exercised: ${refused.join(', ')}`);
  });
});
