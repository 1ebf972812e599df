// Calls of every bridge method with arbitrary arguments, against a real one-peer group: most are
// drawn until they pass the method's schema (right types, extreme values: empty and 20,000-
// character text, emoji, NUL, huge and negative numbers, odd options), so that they reach the
// peer. Every reply must be a result or an error with a code that says what is wrong: never
// 'internal' (an exception nobody meant), and the peer must still serve afterwards.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BridgeMethod } from '../../common/bridge.js';
import { createBridgeSession } from '../../main/bridge/dispatcher.js';
import { checkArgs, methodArgs } from '../../main/bridge/schemas.js';
import { AppHost } from '../../main/host/app-host.js';
import { silentLogger } from '../../main/log/logger.js';
import { testScrypt } from '../helpers/chat-replica.js';
import { tempDir } from '../helpers/temp-dir.js';
import { seededRandom } from '../unit/raft/harness.js';

const seeds = 3;
const callsPerSeed = 1_000;
/** Methods that would end the group or this session for the calls after them. */
const leftOut = new Set<string>(['leaveGroup', 'createGroup', 'joinGroup', 'discoverGroups', 'removeMember', 'transferLeadership', 'deleteAccount', 'logout']);
const methods = (Object.keys(methodArgs) as BridgeMethod[]).filter((m) => !leftOut.has(m));
const texts = ['', 'bob', 'alice', 'general', '#general', 'a'.repeat(70), 'x'.repeat(20_000), '\u0000', '💬'.repeat(5_000), 'ALICE', ' bob ', '%', '*', 'b*', '..', 'n-00000000', 'qc1-AAAA', 'null', '-1'];
const numbers = [0, 1, -1, 2 ** 31, Number.MAX_SAFE_INTEGER, 1.5, 1e300, 42];
const optionKeys = ['minIndex', 'linearizable', 'limit', 'cursor', 'request', 'with', 'upTo', 'token', 'username', 'password', 'clientId', 'seq'];

function generator(seed: number) {
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const value = (depth: number): unknown => {
    switch (int(0, 5)) {
      case 0: return pick(numbers);
      case 1: return random() < 0.5;
      case 2: return null;
      case 3: return depth > 1 ? [] : Array.from({ length: int(0, 3) }, () => value(depth + 1));
      case 4: return Object.fromEntries(Array.from({ length: int(0, 3) }, () => [pick(optionKeys), depth > 1 ? pick(numbers) : value(depth + 1)]));
      default: return pick(texts);
    }
  };
  /** Arguments for `method`: the first of 50 draws that passes its schema, else the last. */
  const args = (method: BridgeMethod): unknown[] => {
    let drawn: unknown[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      drawn = Array.from({ length: int(0, methodArgs[method].length) }, () => value(0));
      if (checkArgs(method, drawn).ok) break;
    }
    return drawn;
  };
  return { pick, args };
}

test(`every bridge method, ${seeds} × ${callsPerSeed} arbitrary calls: each gets a result or a clear error, and the peer still serves`, { timeout: 300_000 }, async (t) => {
  const host = await AppHost.start({
    dataDir: join(tempDir(t, 'quorum-arbitrary-'), 'peer'), logger: silentLogger, listen: '127.0.0.1:0', clientListen: '127.0.0.1:0',
    scrypt: testScrypt, timing: { tickMs: 10, electionTicks: 10, heartbeatTicks: 2 },
  });
  t.after(() => host.stop());
  await host.createGroup('Arbitrary');
  const session = createBridgeSession(host, () => undefined);
  t.after(() => session.close());
  let id = 0;
  const call = (method: BridgeMethod, ...args: unknown[]) => session.handle({ id: id++, method, args });
  const logIn = async () => assert.ok((await call('login', 'alice', 'correct horse battery')).ok);
  for (const name of ['alice', 'bob']) assert.ok((await call('register', name, 'correct horse battery')).ok);
  await logIn();

  const outcomes = new Map<string, number>();
  for (let seed = 1; seed <= seeds; seed++) {
    const { pick, args } = generator(seed);
    for (let i = 0; i < callsPerSeed; i++) {
      const method = pick(methods);
      const drawn = args(method);
      const reply = await call(method, ...drawn);
      const outcome = reply.ok ? 'ok' : reply.error.code;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      assert.notEqual(outcome, 'internal', `seed ${seed} call ${i}: ${method}(${JSON.stringify(drawn).slice(0, 300)}) → ${reply.ok ? '' : reply.error.message}`);
      if (!reply.ok) assert.ok(reply.error.message.length > 0);
      if (method === 'useCredentials' || outcome === 'not-logged-in') await logIn(); // go on as alice
    }
  }
  t.diagnostic([...outcomes].sort().map(([k, v]) => `${k} ${v}`).join(', '));
  assert.ok((outcomes.get('ok') ?? 0) > seeds * callsPerSeed / 4, 'a good share of the calls got through to the peer and succeeded');
  const after = await call('sendDirect', 'bob', 'still serving');
  assert.ok(after.ok, JSON.stringify(after));
});
