// Runs the bundled shell (argv[2]: dist/app/main.js) on the fake Electron and drives it as the
// window would: the app:// protocol, the permission and navigation rules, the bridge over IPC
// (create a group, register, log in, send a message, read the status), the tray's unread
// count, and a quit that stops the peer. Prints "scenario ok" at the end; any failed check
// throws (exit 1). Started by test/electron/app-bundle.test.ts with QUORUM_CHAT_USER_DATA,
// QUORUM_CHAT_UI_DIR and QUORUM_CHAT_LISTEN/QUORUM_CHAT_CLIENT_LISTEN set.
import assert from 'node:assert/strict';
import { app } from 'electron';
import { bridgeOf, fake, ourFrame, startShell, step, until } from './drive.mjs';

const window = await startShell();

step('scheme registered before ready, privileged');
assert.ok(fake.events.indexOf('registerSchemesAsPrivileged') >= 0);
assert.ok(fake.events.indexOf('registerSchemesAsPrivileged') < fake.events.indexOf('ready'));
assert.deepEqual(fake.schemes, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
assert.ok(fake.events.includes('enableSandbox'));

step('one hardened window on app://quorum-chat/');
assert.equal(fake.windows.length, 1);
const prefs = window.options.webPreferences;
assert.equal(prefs.contextIsolation, true);
assert.equal(prefs.sandbox, true);
assert.equal(prefs.nodeIntegration, false);
assert.equal(prefs.webSecurity, true);
assert.equal(prefs.webviewTag, false);
assert.match(prefs.preload, /dist[\\/]app[\\/]preload\.cjs$|[\\/]preload\.cjs$/);
const contents = window.webContents;
assert.deepEqual(contents.loaded, ['app://quorum-chat/index.html']);

step('the app:// protocol serves the UI with the CSP, and nothing outside it');
const serve = fake.protocolHandlers.get('app');
assert.ok(serve);
const get = (url, method = 'GET') => serve(new Request(url, { method }));
const index = await get('app://quorum-chat/index.html');
assert.equal(index.status, 200);
assert.match(index.headers.get('content-type'), /^text\/html/);
assert.equal(index.headers.get('content-security-policy'),
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
assert.match(await index.text(), /fake ui/);
const route = await get('app://quorum-chat/admin');
assert.equal(route.status, 200, 'a route of the single-page UI gets index.html');
const script = await get('app://quorum-chat/assets/app.js');
assert.equal(script.status, 200);
assert.match(script.headers.get('content-type'), /^text\/javascript/);
for (const url of [
  'app://quorum-chat/%2e%2e/secret.txt',
  'app://quorum-chat/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
  'app://quorum-chat/..%2fsecret.txt',
  'app://quorum-chat/assets/..%5c..%5csecret.txt',
  'app://other-host/index.html',
]) {
  const response = await get(url);
  assert.notEqual(response.status, 200, `${url} must not be served`);
  assert.doesNotMatch(await response.text(), /top secret/);
}
assert.equal((await get('app://quorum-chat/missing.js')).status, 404);
assert.equal((await get('app://quorum-chat/index.html', 'POST')).status, 405);

step('permissions: notifications for our UI only');
const ask = (permission, requestingUrl) => new Promise((resolve) => fake.permissionRequest(contents, permission, resolve, { requestingUrl }));
assert.equal(await ask('notifications', 'app://quorum-chat/index.html'), true);
assert.equal(await ask('media', 'app://quorum-chat/index.html'), false);
assert.equal(await ask('geolocation', 'app://quorum-chat/index.html'), false);
assert.equal(await ask('notifications', 'https://evil.example/'), false);
assert.equal(fake.permissionCheck(contents, 'notifications', 'app://quorum-chat', {}), true);
assert.equal(fake.permissionCheck(contents, 'clipboard-read', 'app://quorum-chat', {}), false);
assert.equal(fake.permissionCheck(contents, 'notifications', 'https://evil.example', {}), false);

step('navigation away and new windows are refused; web links open outside');
const navigate = (url) => {
  let prevented = false;
  contents.emit('will-navigate', { preventDefault: () => { prevented = true; } }, url);
  return prevented;
};
assert.equal(navigate('https://example.com/page'), true);
assert.equal(navigate('file:///etc/passwd'), true);
assert.equal(navigate('app://quorum-chat/index.html'), false);
assert.deepEqual(fake.opened, ['https://example.com/page']);
assert.deepEqual(contents.windowOpenHandler({ url: 'https://example.com/x' }), { action: 'deny' });
assert.deepEqual(contents.windowOpenHandler({ url: 'javascript:alert(1)' }), { action: 'deny' });
assert.deepEqual(fake.opened, ['https://example.com/page', 'https://example.com/x']);

step('IPC: only our top frame may call');
const call = fake.ipcHandlers.get('quorum-chat:call');
assert.ok(call);
const bridge = bridgeOf(contents);
await assert.rejects(call({ sender: contents, senderFrame: { url: 'https://evil.example/', parent: null } }, { id: 1, method: 'hostState', args: [] }));
await assert.rejects(call({ sender: contents, senderFrame: { url: 'app://quorum-chat/index.html', parent: ourFrame } }, { id: 1, method: 'hostState', args: [] }));
await assert.rejects(call({ sender: contents, senderFrame: null }, { id: 1, method: 'hostState', args: [] }));

step('first run: setup, then create a group');
assert.deepEqual(await bridge('hostState'), { state: 'setup' });
const member = await bridge('createGroup', 'Smoke test group');
assert.equal(member.state, 'member');
assert.equal(member.groupName, 'Smoke test group');
assert.equal(typeof await bridge('inviteCode'), 'string');

step('register, log in, send a message, read the status');
await bridge('register', 'alice', 'correct horse battery');
await bridge('register', 'bob', 'correct horse battery');
await bridge('login', 'alice', 'correct horse battery');
const sent = await bridge('sendDirect', 'bob', 'hello from the desktop shell');
assert.ok(sent);
const history = await bridge('history', 'bob', {});
assert.equal(history.items.at(-1).text, 'hello from the desktop shell');
const status = await bridge('status');
assert.equal(status.role, 'leader');
const subscription = await bridge('subscribe', {});
assert.equal(typeof subscription, 'number');
const pushes = () => contents.sent.filter((s) => s.channel === 'quorum-chat:push').map((s) => s.message);
await until(() => pushes().some((p) => p.type === 'host' && p.state.state === 'member'), 'the host state change was pushed');
await until(() => pushes().some((p) => p.type === 'event' && p.subscription === subscription), 'subscription events are pushed');

step('a navigation ends the window\'s session (the new page logs in again)');
contents.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: 'app://quorum-chat/index.html' });
await assert.rejects(bridge('whoami'), (err) => err.code === 'not-logged-in' || err.code === 'bad-token');

step('the tray shows the unread count from the window title');
assert.equal(fake.trays.length, 1);
const tray = fake.trays[0];
assert.equal(tray.tooltip, 'Quorum Chat');
window.emit('page-title-updated', { preventDefault() {} }, '(3) Quorum Chat');
assert.equal(tray.tooltip, 'Quorum Chat: 3 unread messages');
assert.equal(fake.badge, 3);
window.emit('page-title-updated', { preventDefault() {} }, 'Quorum Chat');
assert.equal(tray.tooltip, 'Quorum Chat');

step('quit stops the peer first');
const quitted = new Promise((resolve) => app.once('quit-done', resolve));
app.quit();
assert.equal(fake.quitted, false, 'the first quit waits for the peer to stop');
await quitted;
assert.equal(fake.quitted, true);
assert.equal(fake.exitCode, null);
assert.equal(tray.isDestroyed(), true);
assert.equal(fake.ipcHandlers.size, 0);
assert.deepEqual(fake.errors, []);
console.log('scenario ok');
// The peer is stopped; nothing else should keep the process alive for long.
setTimeout(() => process.exit(0), 100).unref();
