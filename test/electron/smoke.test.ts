// The desktop app, end to end, in a real Electron (Playwright): a fresh user-data folder, the
// first-run screen creates a group, an account is registered, a message is sent in a new
// channel, and the admin panel shows this peer leading. Needs an Electron binary, from
// ELECTRON_OVERRIDE_DIST_PATH or a normal `npm ci` with internet (node_modules/electron/dist);
// without one the test is skipped and says why. Builds the UI and dist/app first when stale.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ElectronApplication } from 'playwright-core';
import { preloadGlobal } from '../../common/bridge.js';
import { contentSecurityPolicy } from '../../main/app/ui-files.js';
import { freePorts } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp-dir.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface BuildModule {
  electronBinary(): { path: string } | { missing: string };
  uiIsStale(): boolean;
  appIsStale(): boolean;
  buildUi(): void;
  buildAppBundles(): Promise<void>;
}

test('the desktop app: first run, register, send a message, admin panel', { timeout: 300_000 }, async (t) => {
  const build = await import(pathToFileURL(join(root, 'scripts', 'build-app.mjs')).href) as BuildModule;
  const found = build.electronBinary();
  if (!('path' in found)) {
    const reason = `${found.missing}; set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron 45 to run this test`;
    console.log(`skipping the Electron smoke test: ${reason}`);
    t.skip(reason);
    return;
  }
  if (build.uiIsStale()) build.buildUi();
  if (build.appIsStale()) await build.buildAppBundles();

  const userData = tempDir(t, 'qc-electron-');
  const [listen, client] = await freePorts(2);
  const { _electron } = await import('playwright-core');
  let app: ElectronApplication | null = null;
  try {
    app = await _electron.launch({
      executablePath: found.path,
      // Chromium will not run as root with its sandbox (containers, CI).
      args: [root, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
      cwd: root,
      env: {
        ...process.env,
        QUORUM_CHAT_USER_DATA: userData,
        QUORUM_CHAT_LISTEN: `127.0.0.1:${listen}`,
        QUORUM_CHAT_CLIENT_LISTEN: `127.0.0.1:${client}`,
      },
      timeout: 60_000,
    });
    const page = await app.firstWindow();
    page.setDefaultTimeout(30_000);
    await page.waitForLoadState('domcontentloaded');
    assert.match(page.url(), /^app:\/\/quorum-chat\//);

    // The page is a plain sandboxed web page with the bridge link and nothing of Node.
    const globals = await page.evaluate((name) => {
      const g = globalThis as unknown as Record<string, unknown>;
      const link = g[name] as Record<string, unknown> | undefined;
      return { require: typeof g.require, process: typeof g.process, link: link === undefined ? [] : Object.keys(link).sort() };
    }, preloadGlobal);
    assert.deepEqual(globals, { require: 'undefined', process: 'undefined', link: ['call', 'onPush'] });
    const csp = await app.evaluate(async ({ net }) => (await net.fetch('app://quorum-chat/index.html')).headers.get('content-security-policy'));
    assert.equal(csp, contentSecurityPolicy);
    const traversal = await app.evaluate(async ({ net }) => (await net.fetch('app://quorum-chat/%2e%2e/%2e%2e/package.json')).status);
    assert.notEqual(traversal, 200);

    await page.getByTestId('setup-create-name').fill('Smoke test');
    await page.getByTestId('setup-create-button').click();
    await page.getByTestId('auth-username').fill('alice');
    await page.getByTestId('auth-password').fill('correct horse battery');
    await page.getByTestId('auth-register').click();
    await page.getByTestId('channel-create-name').fill('general');
    await page.getByTestId('channel-create').click();
    await page.getByTestId('composer-input').fill('hello from the desktop app');
    await page.getByTestId('composer-send').click();
    await page.getByTestId('message').filter({ hasText: 'hello from the desktop app' }).first().waitFor();
    await page.getByTestId('admin-tab').click();
    await page.getByTestId('admin-role').filter({ hasText: 'leader' }).waitFor();
  } finally {
    if (app !== null) {
      const child = app.process();
      await Promise.race([app.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
});
