// The Electron shell's pure rules (main/app/ui-files.ts): which app:// URLs map to which UI
// files (nothing outside the UI folder), our origin, the CSP, the unread count in the title.
import assert from 'node:assert/strict';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import {
  contentSecurityPolicy, isAppOrigin, isAppUrl, mimeTypeOf, resolveUiPath, trayTooltip, unreadFromTitle, uiResponseHeaders,
} from '../../main/app/ui-files.js';

const ui = join(sep, 'opt', 'quorum', 'renderer', 'dist');

test('app:// URLs map to files of the UI folder; routes get index.html', () => {
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/'), join(ui, 'index.html'));
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/index.html'), join(ui, 'index.html'));
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/assets/index-abc.js'), join(ui, 'assets', 'index-abc.js'));
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/assets/a%20b.css'), join(ui, 'assets', 'a b.css'));
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/admin?x=1#y'), join(ui, 'index.html'));
});

test('path traversal and foreign URLs are refused', () => {
  for (const url of [
    'app://quorum-chat/../package.json',
    'app://quorum-chat/%2e%2e/package.json',
    'app://quorum-chat/%2E%2E%2Fpackage.json',
    'app://quorum-chat/assets/..%2f..%2f..%2fetc%2fpasswd',
    'app://quorum-chat/..%5c..%5cwindows%5cwin.ini',
    'app://quorum-chat/assets/%00.js',
    'app://quorum-chat/%E0%A4%A',
    'app://other/index.html',
    'file:///etc/passwd',
    'https://quorum-chat/index.html',
    'not a url',
  ]) {
    const file = resolveUiPath(ui, url);
    // The URL parser folds plain and %2e dot segments away ("/../package.json" is /package.json
    // of the UI folder); what it leaves must stay inside the folder.
    assert.ok(file === null || (file.startsWith(ui + sep) && !file.includes('..')), `${url} → ${file}`);
  }
  // Encoded slashes survive the parser and become ".." only when decoded: refused.
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/assets/..%2f..%2f..%2fetc%2fpasswd'), null);
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/..%5c..%5cwindows%5cwin.ini'), null);
  assert.equal(resolveUiPath(ui, 'app://quorum-chat/%E0%A4%A'), null);
  assert.equal(resolveUiPath(ui, 'app://other/index.html'), null);
});

test('our origin is app://quorum-chat and nothing else', () => {
  assert.equal(isAppUrl('app://quorum-chat/index.html'), true);
  assert.equal(isAppUrl('app://quorum-chat.evil/index.html'), false);
  assert.equal(isAppUrl('app://evil/index.html'), false);
  assert.equal(isAppUrl('https://quorum-chat/'), false);
  assert.equal(isAppUrl('file:///index.html'), false);
  assert.equal(isAppOrigin('app://quorum-chat'), true);
  assert.equal(isAppOrigin('app://evil'), false);
});

test('every response carries the strict CSP and the right type', () => {
  assert.equal(contentSecurityPolicy,
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
  assert.equal(uiResponseHeaders('/x/index.html')['Content-Security-Policy'], contentSecurityPolicy);
  assert.equal(mimeTypeOf('a.js'), 'text/javascript; charset=utf-8');
  assert.equal(mimeTypeOf('a.SVG'), 'image/svg+xml');
  assert.equal(mimeTypeOf('a.unknown'), 'application/octet-stream');
});

test('the unread count comes from the window title', () => {
  assert.equal(unreadFromTitle('(3) Quorum Chat'), 3);
  assert.equal(unreadFromTitle('(120) Quorum Chat'), 120);
  assert.equal(unreadFromTitle('Quorum Chat'), 0);
  assert.equal(unreadFromTitle('Quorum Chat (3)'), 0);
  assert.equal(trayTooltip(0), 'Quorum Chat');
  assert.equal(trayTooltip(1), 'Quorum Chat: 1 unread message');
  assert.equal(trayTooltip(5), 'Quorum Chat: 5 unread messages');
});
