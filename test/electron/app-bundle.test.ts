// The Electron shell as far as it can be checked without Electron's binary: the bundles that
// scripts/build-app.mjs makes (main.js loads only shipped packages, the sandboxed preload
// requires nothing but 'electron' and exposes the BridgeLink), electron-builder.yml against
// electron-builder's own schema, and the bundled main.js run on a fake 'electron' module
// through a whole first run (test/electron/fake-electron/scenario.mjs) and onto a full disk
// (full-disk.mjs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { ipcChannels, preloadGlobal } from '../../common/bridge.js';
import { PowerCutDisk, powerCutUnavailable } from '../helpers/power-cut.js';
import { freePorts } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp-dir.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Two levels under the root, like dist/app: main.js finds proto/ at ../../proto/.
const out = join(root, 'dist', `app-test-${process.pid}`);
const fakeElectron = fileURLToPath(new URL('./fake-electron/', import.meta.url));

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Bare module names a bundle imports or requires. */
function importsOf(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/(?:^|\n)\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/g)) found.add(match[1]!);
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.add(match[1]!);
  for (const match of source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) found.add(match[1]!);
  return [...found];
}

const packageName = (specifier: string) => specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

describe('the Electron shell bundles', () => {
  before(async () => {
    const built = await run(process.execPath, ['scripts/build-app.mjs', '--skip-ui', '--out', out]);
    assert.equal(built.code, 0, built.output);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test('npm run build:app writes main.js and preload.cjs', () => {
    assert.ok(existsSync(join(out, 'main.js')));
    assert.ok(existsSync(join(out, 'preload.cjs')));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };
    assert.equal(pkg.main, 'dist/app/main.js');
    assert.match(pkg.scripts['build:app'] ?? '', /scripts\/build-app\.mjs/);
  });

  test('the preload requires nothing but electron, and exposes the bridge link on the fixed channels', async () => {
    const source = readFileSync(join(out, 'preload.cjs'), 'utf8');
    assert.deepEqual(importsOf(source), ['electron']);
    assert.doesNotMatch(source, /\bimport\s/);

    // Run it as a sandboxed preload would be: CommonJS, with require('electron') only.
    const exposed = new Map<string, unknown>();
    const invoked: unknown[][] = [];
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const electron = {
      contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.set(name, api) },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => { invoked.push(args); return { type: 'reply', id: 7, ok: true, result: 'pong' }; },
        on: (channel: string, fn: (...args: unknown[]) => void) => { (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel)!).add(fn); },
        removeListener: (channel: string, fn: (...args: unknown[]) => void) => { listeners.get(channel)?.delete(fn); },
      },
    };
    const module = { exports: {} };
    const sandboxRequire = (name: string) => {
      if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
      return electron;
    };
    vm.runInNewContext(`(function (require, module, exports) {${source}\n})`, {})(sandboxRequire, module, module.exports);
    assert.deepEqual([...exposed.keys()], [preloadGlobal]);
    const link = exposed.get(preloadGlobal) as { call(r: unknown): Promise<unknown>; onPush(l: (p: unknown) => void): () => void };
    assert.deepEqual(Object.keys(link).sort(), ['call', 'onPush']);
    const request = { id: 7, method: 'hostState', args: [] };
    assert.deepEqual(await link.call(request), { type: 'reply', id: 7, ok: true, result: 'pong' });
    assert.deepEqual(invoked, [[ipcChannels.call, request]]);
    const pushes: unknown[] = [];
    const stop = link.onPush((push) => pushes.push(push));
    for (const fn of listeners.get(ipcChannels.push) ?? []) fn({ sender: 'event' }, { type: 'host', state: { state: 'setup' } });
    assert.deepEqual(pushes, [{ type: 'host', state: { state: 'setup' } }], 'the page gets the push, not the IPC event');
    stop();
    assert.equal(listeners.get(ipcChannels.push)?.size, 0);
    assert.deepEqual([...listeners.keys()], [ipcChannels.push]);
  });

  test('main.js is ESM and imports only Node built-ins, electron and production dependencies', () => {
    const source = readFileSync(join(out, 'main.js'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const allowed = new Set([...Object.keys(pkg.dependencies), 'electron']);
    const builtins = new Set(builtinModules);
    for (const specifier of importsOf(source)) {
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
      assert.ok(!specifier.startsWith('.') && !specifier.startsWith('/'), `main.js loads a file at run time: ${specifier}`);
      assert.ok(allowed.has(packageName(specifier)), `main.js imports ${specifier}, which is not a production dependency (the packaged app would lack it)`);
    }
    assert.doesNotMatch(source, /from ["']tsx/, 'the bundle needs no TypeScript loader');
    // main/transport/proto.ts finds proto/ relative to the bundle: dist/app/ → ../../proto/.
    assert.match(source, /new URL\(["']\.\.\/\.\.\/proto\/["'], import\.meta\.url\)/);
  });

  test('electron-builder.yml passes electron-builder\'s schema and ships what main.js needs', async () => {
    const require = createRequire(join(root, 'package.json'));
    const config = require('app-builder-lib/out/util/config/config.js') as {
      getConfig(dir: string, path: string | null, options: null): Promise<Record<string, unknown> & { files: (string | { filter: string[] })[]; asarUnpack: string[] }>;
      validateConfiguration(config: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util/out/DebugLogger.js') as { DebugLogger: new (enabled: boolean) => unknown };
    const loaded = await config.getConfig(root, join(root, 'electron-builder.yml'), null);
    await config.validateConfiguration(loaded, new DebugLogger(false));
    const files = loaded.files.flatMap((f) => typeof f === 'string' ? [f] : f.filter);
    for (const needed of ['dist/app/**', 'renderer/dist/**', 'proto/**', 'package.json', 'build/tray.png', 'build/tray@2x.png', 'build/icon.png']) {
      assert.ok(files.includes(needed), `files lists ${needed}`);
    }
    assert.ok(loaded.asarUnpack.some((p) => p.includes('better-sqlite3')));
    const mac = loaded.mac as { extendInfo: { NSBonjourServices: string[]; NSLocalNetworkUsageDescription: string } };
    const { serviceType } = await import('../../main/discovery/types.js');
    assert.deepEqual(mac.extendInfo.NSBonjourServices, [serviceType]);
    for (const file of ['build/icon.png', 'build/icons/512x512.png', 'build/icons/256x256.png', 'build/tray.png', 'build/tray@2x.png']) {
      assert.ok(existsSync(join(root, file)), `${file} exists`);
    }
  });

  test('main.js on a fake Electron: protocol, permissions, navigation, IPC bridge through a first run, tray, quit', { timeout: 120_000 }, async (t) => {
    const userData = tempDir(t, 'qc-app-');
    // The UI folder sits in a temporary folder beside a file it must never serve.
    const outside = tempDir(t, 'qc-ui-');
    const ui = join(outside, 'dist');
    mkdirSync(join(ui, 'assets'), { recursive: true });
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Quorum Chat</title><p>fake ui</p>');
    writeFileSync(join(ui, 'assets', 'app.js'), 'console.log("ui")');
    writeFileSync(join(outside, 'secret.txt'), 'top secret');
    const [listen, client] = await freePorts(2);
    const result = await run(process.execPath, ['--import', join(fakeElectron, 'register.mjs'), join(fakeElectron, 'scenario.mjs'), join(out, 'main.js')], {
      QUORUM_CHAT_USER_DATA: userData,
      QUORUM_CHAT_UI_DIR: ui,
      QUORUM_CHAT_LISTEN: `127.0.0.1:${listen}`,
      QUORUM_CHAT_CLIENT_LISTEN: `127.0.0.1:${client}`,
      QUORUM_CHAT_LOG: 'warn',
    }, 100_000);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /scenario ok/);
    assert.ok(existsSync(join(userData, 'peer')), 'the peer keeps its data under userData/peer');
  });

  test('main.js on a full disk: one dialog saying why, exit code 1; restarted with room, every confirmed message is there',
    { timeout: 180_000, skip: powerCutUnavailable() ?? false }, async (t) => {
      const dir = tempDir(t, 'qc-app-disk-');
      const userData = join(dir, 'user-data');
      const disk = await PowerCutDisk.mount(join(dir, 'backing'), userData, { capacity: 32 << 20 });
      try {
        const [listen, client] = await freePorts(2);
        const scenario = (...args: string[]) => run(process.execPath,
          ['--import', join(fakeElectron, 'register.mjs'), join(fakeElectron, 'full-disk.mjs'), join(out, 'main.js'), ...args], {
            QUORUM_CHAT_USER_DATA: userData,
            QUORUM_CHAT_LISTEN: `127.0.0.1:${listen}`,
            QUORUM_CHAT_CLIENT_LISTEN: `127.0.0.1:${client}`,
            QUORUM_CHAT_LOG: 'warn',
          }, 100_000);
        const filled = await scenario('fill', join(userData, 'filler'));
        assert.equal(filled.code, 0, filled.output);
        assert.match(filled.output, /scenario ok/);
        assert.doesNotMatch(filled.output, /Uncaught| {4}at /, 'no uncaught error, no stack');
        const confirmed = /confirmed: (\d+)/.exec(filled.output)?.[1];
        assert.ok(confirmed !== undefined, filled.output);

        await disk.freeSpace();
        const restarted = await scenario('restart', confirmed);
        assert.equal(restarted.code, 0, restarted.output);
        assert.match(restarted.output, /scenario ok/);
      } finally {
        await disk.unmount();
      }
    });
});
