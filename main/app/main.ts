// The Electron shell (thin): one instance per user, an AppHost (the peer) with its data under
// userData, the UI served from app://quorum-chat/ into one hardened window, the bridge over
// IPC, a tray icon with the unread count, and a quit that stops the peer (handing leadership
// over) before the process exits. Bundled by scripts/build-app.mjs into dist/app/main.js (ESM),
// so paths below are relative to that file: dist/app/ → the project (or app.asar) root.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, dialog, type BrowserWindow } from 'electron';
import { pino } from 'pino';
import { AppHost } from '../host/app-host.js';
import { createLogger, type Logger } from '../log/logger.js';
import { LostLogError } from '../raft/types.js';
import { serveBridgeIpc, type BridgeIpc } from './ipc.js';
import { createTray, type UnreadTray } from './tray.js';
import { unreadFromTitle } from './ui-files.js';
import { registerAppScheme, serveUi } from './ui-protocol.js';
import { createMainWindow, restrictPermissions } from './window.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const paths = {
  ui: process.env.QUORUM_CHAT_UI_DIR ?? join(root, 'renderer', 'dist'),
  preload: join(here, 'preload.cjs'),
  icon: join(root, 'build', 'icon.png'),
  trayIcon: join(root, 'build', 'tray.png'),
};
const stopTimeoutMs = 15_000;

// Before anything reads it: tests and second profiles point userData elsewhere.
if (process.env.QUORUM_CHAT_USER_DATA !== undefined) app.setPath('userData', process.env.QUORUM_CHAT_USER_DATA);
// Privileged schemes must be registered before 'ready', i.e. before any await in this module.
registerAppScheme();
app.enableSandbox();

function openLog(): Logger {
  if (!app.isPackaged) return createLogger('app');
  const logs = app.getPath('logs');
  mkdirSync(logs, { recursive: true });
  return pino({ name: 'app', level: process.env.QUORUM_CHAT_LOG ?? 'info' },
    pino.destination({ dest: join(logs, 'quorum-chat.log'), sync: false, mkdir: true }));
}

if (!app.requestSingleInstanceLock()) {
  // Another copy runs for this user: it gets focused (second-instance below); this one leaves.
  app.quit();
} else {
  run();
}

function run(): void {
  const log = openLog();
  let window: BrowserWindow | null = null;
  let tray: UnreadTray | null = null;
  let ipc: BridgeIpc | null = null;
  let host: Promise<AppHost> | null = null;
  let quitting: 'no' | 'stopping' | 'done' = 'no';

  const show = (): void => {
    if (window === null || window.isDestroyed()) {
      if (app.isReady()) window = openWindow();
      return;
    }
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };

  const openWindow = (): BrowserWindow => {
    const created = createMainWindow({ preload: paths.preload, icon: paths.icon });
    created.on('page-title-updated', (_event, title) => tray?.setUnread(unreadFromTitle(title)));
    created.on('closed', () => {
      if (window === created) window = null;
    });
    return created;
  };

  app.on('second-instance', show);

  app.on('web-contents-created', (_event, contents) => {
    // No window but ours, ever (window.ts also denies window.open per window).
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', show);

  // Quit = stop the peer first (a leader hands leadership over), then exit.
  app.on('before-quit', (event) => {
    if (quitting === 'done') return;
    event.preventDefault();
    if (quitting === 'stopping') return;
    quitting = 'stopping';
    void stopEverything().finally(() => {
      quitting = 'done';
      app.quit();
    });
  });
  // Ctrl-C in the terminal of `npm start`: quit gracefully; a second signal exits at once.
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (signalled) app.exit(1);
      signalled = true;
      app.quit();
    });
  }

  /** What the dialog says when the running peer stops (PeerOptions.onFatal). */
  function whyStopped(err: Error): string {
    if (err instanceof LostLogError) return `${err.message}.`;
    return `Its storage failed: ${err.message}\n\n` +
      'Every message it confirmed had already been written to the disk, and in a group to the other peers too. ' +
      'Make room on the disk (or repair it) and start Quorum Chat again: it catches up with the group by itself.';
  }

  /** The peer cannot run (it did not start, or its storage failed): one dialog, then exit 1. */
  function failAndExit(title: string, text: string): void {
    log.error({ title }, 'exiting');
    log.flush();
    dialog.showErrorBox(title, text);
    quitting = 'done';
    app.exit(1);
  }

  async function stopEverything(): Promise<void> {
    ipc?.close();
    tray?.destroy();
    if (host === null) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const running = await host;
      await Promise.race([
        running.stop(),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            log.warn({ ms: stopTimeoutMs }, 'the peer did not stop in time; exiting anyway');
            resolve();
          }, stopTimeoutMs);
        }),
      ]);
      log.info('peer stopped');
    } catch (err) {
      log.error({ err }, 'stopping the peer failed');
    } finally {
      clearTimeout(timer);
      log.flush();
    }
  }

  void app.whenReady().then(() => {
    restrictPermissions();
    serveUi(paths.ui);
    const dataDir = join(app.getPath('userData'), 'peer');
    log.info({ dataDir, ui: paths.ui }, 'starting');
    host = AppHost.start({
      dataDir,
      logger: log,
      // The peer has stopped (its disk refused a write or a sync, or its data is older than what
      // it confirmed): say why in a dialog and leave, rather than Electron's uncaught-error report.
      onFatal: (err) => failAndExit('Quorum Chat stopped', `${whyStopped(err)}\n\nData folder: ${dataDir}`),
      // Developer and test knobs (two copies on one machine); the defaults serve the LAN.
      ...(process.env.QUORUM_CHAT_LISTEN ? { listen: process.env.QUORUM_CHAT_LISTEN } : {}),
      ...(process.env.QUORUM_CHAT_CLIENT_LISTEN ? { clientListen: process.env.QUORUM_CHAT_CLIENT_LISTEN } : {}),
    });
    host.catch((err: unknown) => {
      log.error({ err }, 'the peer could not start');
      failAndExit('Quorum Chat could not start', `${err instanceof Error ? err.message : String(err)}\n\nData folder: ${dataDir}`);
    });
    ipc = serveBridgeIpc(host, log);
    tray = createTray(paths.trayIcon, show, () => app.quit());
    window = openWindow();
  });
}
