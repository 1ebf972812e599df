// The IPC end of the bridge: one bridge session (main/bridge) per window's web contents,
// requests on ipcChannels.call, pushes on ipcChannels.push. Only the top frame of our own
// app:// UI may call; a navigation or a closed window ends the session and its subscriptions.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { ipcChannels, type BridgePush, type BridgeReply } from '../../common/bridge.js';
import { createBridgeSession, type BridgeHost, type BridgeSession } from '../bridge/dispatcher.js';
import type { Logger } from '../log/logger.js';
import { isAppUrl } from './ui-files.js';

export interface BridgeIpc {
  /** Ends every session (before the host stops). */
  close(): void;
}

function fromOurUi(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

export function serveBridgeIpc(host: Promise<BridgeHost>, logger: Logger): BridgeIpc {
  const sessions = new Map<number, BridgeSession>();

  const end = (id: number): void => {
    const found = sessions.get(id);
    if (found === undefined) return;
    sessions.delete(id);
    found.close();
  };

  const watched = new WeakSet<WebContents>();
  const watch = (contents: WebContents): void => {
    if (watched.has(contents)) return;
    watched.add(contents);
    const id = contents.id;
    contents.once('destroyed', () => end(id));
    // A reload or navigation starts a new page: it gets a new session, and the old one's
    // subscriptions end with it.
    contents.on('did-start-navigation', (details) => {
      if (details.isMainFrame && !details.isSameDocument) end(id);
    });
  };

  const sessionFor = (contents: WebContents, ready: BridgeHost): BridgeSession => {
    const existing = sessions.get(contents.id);
    if (existing !== undefined) return existing;
    watch(contents);
    const push = (message: BridgePush): void => {
      if (!contents.isDestroyed()) contents.send(ipcChannels.push, message);
    };
    const created = createBridgeSession(ready, push, { logger });
    sessions.set(contents.id, created);
    return created;
  };

  ipcMain.handle(ipcChannels.call, async (event, raw: unknown): Promise<BridgeReply> => {
    if (!fromOurUi(event)) throw new Error('refused: not the Quorum Chat UI');
    const ready = await host;
    return sessionFor(event.sender, ready).handle(raw);
  });

  return {
    close(): void {
      ipcMain.removeHandler(ipcChannels.call);
      for (const id of [...sessions.keys()]) end(id);
    },
  };
}
