// The headless peer's UI server: who may open the bridge (token, Origin, Host), what a good
// connection can do (register, log in, send, hear pushed events), bad requests answered without
// harm to the connection, and the static UI with its security headers.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChatEvent } from '../../common/chat-api.js';
import { startUiServer, type UiServer } from '../../main/bridge/ws-server.js';
import { AppHost } from '../../main/host/app-host.js';
import { silentLogger } from '../../main/log/logger.js';
import { writePeerConfig } from '../../main/peer/config.js';
import { testScrypt } from '../helpers/chat-replica.js';
import { password } from '../helpers/grpc-client.js';
import { waitFor } from '../helpers/wait.js';
import { BridgeClient } from './bridge-client.js';

const fastTiming = { tickMs: 10, electionTicks: 10, heartbeatTicks: 2 };

function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the WebSocket bridge and UI server', () => {
  let dir: string;
  let host: AppHost;
  let ui: UiServer;
  let staticDir: string;
  const clients: BridgeClient[] = [];

  const connect = async (): Promise<BridgeClient> => {
    const c = await BridgeClient.connect(ui.port, { token: ui.token });
    assert.ok(c instanceof BridgeClient, 'connected');
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quorum-bridge-'));
    const dataDir = join(dir, 'peer');
    // A one-peer static group: a member at once, no mDNS.
    writePeerConfig(dataDir, { version: 1, id: 'solo', listen: '127.0.0.1:0', peers: { solo: '127.0.0.1:0' } });
    host = await AppHost.start({ dataDir, logger: silentLogger, scrypt: testScrypt, timing: fastTiming });
    staticDir = join(dir, 'ui');
    mkdirSync(join(staticDir, 'assets'), { recursive: true });
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Quorum Chat</title>');
    writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log("hi")');
    ui = await startUiServer({ host, port: 0, staticDir, logger: silentLogger });
    await waitFor(() => host.peer?.server.peer.leaderId() === 'solo', 'the peer to lead');
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await ui?.close();
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the URL carries the token in its fragment', () => {
    assert.equal(ui.url, `http://127.0.0.1:${ui.port}/#token=${ui.token}`);
    assert.ok(ui.token.length >= 32);
  });

  test('refuses a missing or wrong token, a foreign or missing Origin and a foreign Host, without upgrading', async () => {
    const port = ui.port;
    // The last character changed (to 'x', or 'y' where it was 'x': one run in 64 it was).
    const wrongToken = `${ui.token.slice(0, -1)}${ui.token.endsWith('x') ? 'y' : 'x'}`;
    const cases: [string, Parameters<typeof BridgeClient.connect>[1], number][] = [
      ['no token', { token: null }, 401],
      ['wrong token', { token: wrongToken }, 401],
      ['foreign Origin', { token: ui.token, origin: 'http://evil.example' }, 403],
      ['missing Origin', { token: ui.token, origin: null }, 403],
      ['foreign Host', { token: ui.token, host: `evil.example:${port}` }, 421],
    ];
    for (const [what, handshake, status] of cases) {
      assert.deepEqual(await BridgeClient.connect(port, handshake), { refused: status }, what);
    }
    const viaLocalhost = await BridgeClient.connect(port, { token: ui.token, origin: `http://localhost:${port}`, host: `localhost:${port}` });
    assert.ok(viaLocalhost instanceof BridgeClient, 'localhost is ours too');
    await viaLocalhost.close();
  });

  test('a connection registers, logs in, sends, and hears a message another session sent', async () => {
    const alice = await connect();
    const bob = await connect();
    assert.deepEqual(await alice.ok('hostState'), { state: 'member', groupName: null, nodeId: 'solo', staticGroup: true });
    await alice.ok('register', 'alice', password);
    await bob.ok('register', 'bob', password);
    const login = await alice.ok<{ token: string }>('login', 'alice', password);
    assert.equal(typeof login.token, 'string');
    const subscription = await alice.ok<number>('subscribe');
    await waitFor(() => alice.pushes.some((p) => p.type === 'event' && p.subscription === subscription && p.event.type === 'group'), 'the first group event');

    await bob.ok('useCredentials', { username: 'bob', password });
    const sent = await bob.ok<{ messageId: number }>('sendDirect', 'alice', 'hello over the bridge');
    const pushed = await waitFor(() => alice.pushes.find((p) => p.type === 'event' && p.event.type === 'message'), 'the pushed message');
    assert.equal(pushed.type === 'event' && (pushed.event as Extract<ChatEvent, { type: 'message' }>).message.id, sent.messageId);
    assert.equal((await alice.ok<{ total: number }>('unread')).total, 1);
    assert.equal(await alice.ok('unsubscribe', subscription), true);
    assert.equal(await alice.ok('unsubscribe', subscription), false);
  });

  test('bad requests get a clear error and the connection stays usable', async () => {
    const c = await connect();
    const unknown = await c.call('dropDatabase');
    assert.deepEqual(unknown.ok ? null : unknown.error, { code: 'invalid-argument', message: 'unknown method: dropDatabase' });
    const wrongType = await c.call('sendDirect', 42, 'text');
    assert.ok(!wrongType.ok && wrongType.error.code === 'invalid-argument' && /sendDirect: to must be text/.test(wrongType.error.message), JSON.stringify(wrongType));
    const missing = await c.call('login', 'alice');
    assert.ok(!missing.ok && /needs its password/.test(missing.error.message), JSON.stringify(missing));
    const tooMany = await c.call('status', 1);
    assert.ok(!tooMany.ok && /at most 0 arguments/.test(tooMany.error.message), JSON.stringify(tooMany));
    const badOptions = await c.call('history', 'bob', { limit: 'ten' });
    assert.ok(!badOptions.ok && /options\.limit/.test(badOptions.error.message), JSON.stringify(badOptions));
    const extraField = await c.call('whoami', { sneaky: true });
    assert.ok(!extraField.ok && /unknown field/.test(extraField.error.message), JSON.stringify(extraField));
    const malformed = await c.send('{not json', 0);
    assert.deepEqual(malformed.ok ? null : malformed.error.code, 'invalid-argument');
    const notARequest = await c.send({ id: 7, method: 'whoami', args: 'nope' });
    assert.ok(!notARequest.ok && notARequest.id === 7);
    const chatError = await c.call('whoami');
    assert.deepEqual(chatError.ok ? null : chatError.error.code, 'not-logged-in');
    assert.equal((await c.ok<{ id: string }>('status')).id, 'solo', 'still usable');
  });

  test('serves the UI with its security headers, and index.html for app routes', async () => {
    const port = ui.port;
    const index = await get(port, '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.equal(index.headers['content-security-policy'],
      `default-src 'self'; connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}; img-src 'self' data:; style-src 'self' 'unsafe-inline'`);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    const script = await get(port, '/assets/app.js');
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    const route = await get(port, '/chat/alice');
    assert.equal(route.status, 200);
    assert.match(route.body, /Quorum Chat/);
    assert.equal((await get(port, '/assets/missing.js')).status, 404);
    assert.doesNotMatch((await get(port, '/../../etc/passwd')).body, /root:/, 'nothing outside the UI folder');
    assert.equal((await get(port, '/%2e%2e/%2e%2e/etc/passwd.txt')).status, 404);
  });

  test('a foreign Host on plain HTTP is refused (DNS rebinding)', async () => {
    const res = await get(ui.port, '/', `evil.example:${ui.port}`);
    assert.equal(res.status, 421);
    assert.equal(res.headers['content-security-policy'], undefined);
  });
});

describe('the UI server without a built UI', () => {
  test('answers 503 with a hint', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'quorum-noui-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const host = await AppHost.start({ dataDir: join(dir, 'peer'), logger: silentLogger });
    const ui = await startUiServer({ host, port: 0, staticDir: join(dir, 'nothing'), logger: silentLogger });
    try {
      const res = await get(ui.port, '/');
      assert.equal(res.status, 503);
      assert.match(res.body, /run npm run build:ui/);
    } finally {
      await ui.close();
      await host.stop();
    }
  });
});
