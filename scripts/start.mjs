#!/usr/bin/env node
// `npm start`: the desktop app when an Electron binary is here, else the headless peer with
// its UI on http://127.0.0.1:7480 (Electron's binary is downloaded by its install script,
// which needs the internet). Builds what is missing or stale first: the UI (renderer/dist)
// always, the app bundles (dist/app) for Electron. Ctrl-C stops the app gracefully (its peer
// hands leadership over first); a second Ctrl-C stops it at once.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { appIsStale, buildAppBundles, buildUi, electronBinary, root, uiIsStale } from './build-app.mjs';

const uiPort = process.env.QUORUM_CHAT_UI_PORT ?? '7480';

/** Runs `command`, passing our signals on once each, and exits with its status. */
function runChild(command, args, options = {}) {
  // Its own process group (except on Windows), so that a Ctrl-C reaches it once, from us,
  // and not a second time from the terminal: the peer treats a second signal as "exit now".
  const detached = process.platform !== 'win32';
  const child = spawn(command, args, { cwd: root, stdio: options.stdio ?? 'inherit', detached });
  const lastSent = new Map();
  const forward = (received) => {
    // A closed terminal (SIGHUP) stops the app as gracefully as Ctrl-C does.
    const signal = received === 'SIGHUP' ? 'SIGTERM' : received;
    // npm run forwards the terminal's SIGINT to us as well: one Ctrl-C may arrive twice.
    const now = Date.now();
    if (now - (lastSent.get(signal) ?? 0) < 1000) return;
    lastSent.set(signal, now);
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => forward(signal));
  child.on('error', (err) => {
    console.error(`could not start ${command}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
}

async function startDesktop(electron) {
  if (uiIsStale()) buildUi();
  if (appIsStale()) await buildAppBundles();
  // Chromium refuses to run as root with its sandbox on (containers, CI): only then is the
  // OS-level sandbox turned off; the renderer stays sandboxed by Electron (sandbox: true).
  const args = [root, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...process.argv.slice(2)];
  runChild(electron, args);
}

async function startHeadless(reason) {
  console.log(`${reason}; running the headless peer — open the URL below in a browser`);
  if (uiIsStale()) buildUi();
  // The per-user app-data folder is main/host's choice (app-data.ts), loaded through tsx.
  const { register } = await import('tsx/esm/api');
  register();
  const { appDataDir } = await import('../main/host/app-data.ts');
  const data = process.env.QUORUM_CHAT_DATA ?? appDataDir();
  // The IPC channel lets the peer stop itself should this process die without passing a signal.
  runChild(process.execPath, [join(root, 'bin', 'quorum-chat.js'), 'peer', '--data', data, '--ui-port', uiPort, ...process.argv.slice(2)],
    { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
}

const found = process.env.QUORUM_CHAT_HEADLESS === '1' ? { missing: 'QUORUM_CHAT_HEADLESS=1' } : electronBinary();
try {
  if ('path' in found) await startDesktop(found.path);
  else await startHeadless(found.missing.startsWith("Electron's binary is not installed here")
    ? "Electron's binary is not installed here (fetch it with `npm run electron:install` where the internet is reachable)"
    : found.missing);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
