import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCommand } from '../../main/chat/commands.js';
import { newSessionToken } from '../../main/chat/prepare.js';
import { hashToken } from '../../main/chat/tokens.js';
import type { AppliedCommand } from '../../main/chat/machine.js';
import { ChatReplica } from '../helpers/chat-replica.js';

/** The error code of the one command applied, or null if it succeeded. */
function failure([applied]: AppliedCommand[]): string | null {
  assert.ok(applied !== undefined);
  return applied.result.ok ? null : applied.result.code;
}

describe('login sessions (replicated)', () => {
  test('a login stores the token\'s hash, never the token, and the hash finds the account', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const token = newSessionToken();
    const command = await r.prepare({ t: 'login', account: alice, token });
    assert.ok(!encodeCommand(command).toString().includes(token), 'the token is not in the log');
    const [applied] = r.applyCommands([command]);
    assert.deepEqual(applied?.result, { ok: true, value: {} });
    assert.equal(r.queries.sessionAccount(hashToken(token))?.username, 'alice');
    const stored = r.db.prepare('SELECT token_hash FROM sessions').pluck().all();
    assert.deepEqual(stored, [hashToken(token)]);
  });

  test('logout ends only the caller\'s own session', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const bob = await r.account('bob');
    const token = newSessionToken();
    await r.ok({ t: 'login', account: alice, token });
    assert.deepEqual(await r.ok({ t: 'logout', actor: bob, tokenHash: hashToken(token) }), { ended: 0 });
    assert.notEqual(r.queries.sessionAccount(hashToken(token)), null);
    assert.deepEqual(await r.ok({ t: 'logout', actor: alice, tokenHash: hashToken(token) }), { ended: 1 });
    assert.equal(r.queries.sessionAccount(hashToken(token)), null);
  });

  test('deleting an account ends all its sessions', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const tokens = [newSessionToken(), newSessionToken()];
    for (const token of tokens) await r.ok({ t: 'login', account: alice, token });
    await r.ok({ t: 'deleteAccount', actor: alice, account: alice });
    assert.equal(r.db.prepare('SELECT count(*) FROM sessions').pluck().get(), 0);
  });

  test('a login for an account deleted meanwhile is refused', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const login = await r.prepare({ t: 'login', account: alice, token: newSessionToken() });
    await r.ok({ t: 'deleteAccount', actor: alice, account: alice });
    assert.equal(failure(r.applyCommands([login])), 'unknown-account');
  });

  test('a token is used once, and must look like one', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const token = newSessionToken();
    await r.ok({ t: 'login', account: alice, token });
    const again = await r.run({ t: 'login', account: alice, token });
    assert.equal(again.ok ? null : again.code, 'invalid-argument');
    await assert.rejects(r.prepare({ t: 'login', account: alice, token: 'short' }), { code: 'invalid-argument' });
  });

  test('an entry whose token hash is not a SHA-256 is refused at apply', async (t) => {
    const r = ChatReplica.open(t);
    const alice = await r.account('alice');
    const login = await r.prepare({ t: 'login', account: alice, token: newSessionToken() });
    assert.equal(failure(r.applyCommands([ChatReplica.tamper(login, { tokenHash: 'the token itself' })])), 'malformed-command');
    assert.equal(r.db.prepare('SELECT count(*) FROM sessions').pluck().get(), 0);
  });
});
