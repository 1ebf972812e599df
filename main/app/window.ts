// The UI window and the rules that keep it a closed box: sandboxed renderer with context
// isolation and no Node, no navigation away from app://quorum-chat/, no new windows, no
// <webview>, and no permission but notifications.
import { BrowserWindow, session, shell, type WebContents } from 'electron';
import { appIndexUrl, isAppOrigin, isAppUrl } from './ui-files.js';

export interface WindowOptions {
  readonly preload: string;
  readonly icon?: string;
}

export function createMainWindow(options: WindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 640,
    minHeight: 480,
    title: 'Quorum Chat',
    show: false,
    ...(options.icon === undefined ? {} : { icon: options.icon }),
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: true,
    },
  });
  window.once('ready-to-show', () => window.show());
  harden(window.webContents);
  void window.loadURL(appIndexUrl);
  return window;
}

/** Links to the web open in the user's browser (http and https only); the window stays put. */
function openOutside(url: string): void {
  try {
    const { protocol } = new URL(url);
    if (protocol === 'https:' || protocol === 'http:') void shell.openExternal(url);
  } catch {
    // not a URL: ignore
  }
}

function harden(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (isAppUrl(url)) return; // the UI's own routes
    event.preventDefault();
    openOutside(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    openOutside(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Only our own UI may ask, and only for notifications; everything else is refused. */
export function restrictPermissions(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(permission === 'notifications' && isAppUrl(details.requestingUrl));
  });
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) => {
    return permission === 'notifications' && (isAppOrigin(requestingOrigin) || isAppUrl(requestingOrigin));
  });
}
