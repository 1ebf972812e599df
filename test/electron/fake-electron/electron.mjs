// A stand-in for the 'electron' module, just large enough to run the bundled shell
// (dist/app/main.js) under plain Node: it records what the shell registers (scheme, protocol
// handler, IPC handler, permission handlers, windows, tray) so test/electron/app-bundle.test.ts
// can drive it. Loaded through loader.mjs in place of the real module.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const state = {
  events: [], // order of notable calls, e.g. 'registerSchemesAsPrivileged', 'ready'
  schemes: [],
  protocolHandlers: new Map(),
  ipcHandlers: new Map(),
  permissionRequest: null,
  permissionCheck: null,
  windows: [],
  trays: [],
  opened: [],
  errors: [],
  quitted: false,
  exitCode: null,
  badge: null,
  paths: new Map(),
};
globalThis.__fakeElectron = state;

class FakeApp extends EventEmitter {
  isPackaged = false;
  #ready = false;
  #readyPromise;
  constructor() {
    super();
    // Like Electron, 'ready' comes only after the main module has been evaluated: the
    // scenario calls makeReady() once its import of main.js has resolved.
    this.#readyPromise = new Promise((resolve) => {
      state.makeReady = () => {
        this.#ready = true;
        state.events.push('ready');
        this.emit('ready');
        resolve();
      };
    });
  }
  whenReady() { return this.#readyPromise; }
  isReady() { return this.#ready; }
  setPath(name, path) { state.paths.set(name, path); }
  getPath(name) {
    if (state.paths.has(name)) return state.paths.get(name);
    const base = state.paths.get('userData') ?? join(tmpdir(), 'fake-electron-user-data');
    return name === 'logs' ? join(base, 'logs') : base;
  }
  enableSandbox() { state.events.push('enableSandbox'); }
  requestSingleInstanceLock() { return true; }
  setBadgeCount(n) { state.badge = n; return true; }
  quit() {
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => { prevented = true; } });
    if (prevented) return;
    state.quitted = true;
    state.events.push('quit');
    this.emit('will-quit', { preventDefault() {} });
    this.emit('quit-done');
  }
  exit(code = 0) { state.exitCode = code; state.quitted = true; this.emit('quit-done'); }
}
export const app = new FakeApp();

export const protocol = {
  registerSchemesAsPrivileged(schemes) {
    if (app.isReady()) throw new Error('registerSchemesAsPrivileged after ready');
    state.events.push('registerSchemesAsPrivileged');
    state.schemes.push(...schemes);
  },
  handle(scheme, handler) { state.protocolHandlers.set(scheme, handler); },
};

export const ipcMain = {
  handle(channel, handler) {
    if (state.ipcHandlers.has(channel)) throw new Error(`second handler for ${channel}`);
    state.ipcHandlers.set(channel, handler);
  },
  removeHandler(channel) { state.ipcHandlers.delete(channel); },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler(handler) { state.permissionRequest = handler; },
    setPermissionCheckHandler(handler) { state.permissionCheck = handler; },
  },
};

export const shell = { async openExternal(url) { state.opened.push(url); } };
export const dialog = { showErrorBox(title, content) { state.errors.push(`${title}: ${content}`); } };
export const Menu = { buildFromTemplate(template) { return { template }; } };
export const nativeImage = {
  createFromPath(path) { return { path, isEmpty: () => false }; },
  createEmpty() { return { path: null, isEmpty: () => true }; },
};

let nextContentsId = 1;
class FakeWebContents extends EventEmitter {
  id = nextContentsId++;
  sent = [];
  loaded = [];
  windowOpenHandler = null;
  #destroyed = false;
  setWindowOpenHandler(handler) { this.windowOpenHandler = handler; }
  async loadURL(url) { this.loaded.push(url); }
  send(channel, message) { this.sent.push({ channel, message }); }
  isDestroyed() { return this.#destroyed; }
  destroy() { this.#destroyed = true; this.emit('destroyed'); }
}

export class BrowserWindow extends EventEmitter {
  #destroyed = false;
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new FakeWebContents();
    this.shown = false;
    state.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  async loadURL(url) { return this.webContents.loadURL(url); }
  show() { this.shown = true; }
  focus() {}
  isMinimized() { return false; }
  restore() {}
  isDestroyed() { return this.#destroyed; }
  close() {
    this.#destroyed = true;
    this.webContents.destroy();
    this.emit('closed');
  }
}

export class Tray extends EventEmitter {
  tooltip = '';
  title = '';
  menu = null;
  #destroyed = false;
  constructor(image) {
    super();
    this.image = image;
    state.trays.push(this);
  }
  setToolTip(text) { this.tooltip = text; }
  setTitle(text) { this.title = text; }
  setContextMenu(menu) { this.menu = menu; }
  isDestroyed() { return this.#destroyed; }
  destroy() { this.#destroyed = true; }
}

export default { app, protocol, ipcMain, session, shell, dialog, Menu, nativeImage, BrowserWindow, Tray };
