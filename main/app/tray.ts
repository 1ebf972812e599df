// The tray icon: shows the unread total (tooltip everywhere, title next to the icon on macOS,
// the dock/launcher badge where the platform has one); a click brings the window up.
import { app, Menu, nativeImage, Tray } from 'electron';
import { trayTooltip } from './ui-files.js';

export interface UnreadTray {
  setUnread(count: number): void;
  destroy(): void;
}

export function createTray(iconPath: string, show: () => void, quit: () => void): UnreadTray | null {
  let tray: Tray;
  try {
    const image = nativeImage.createFromPath(iconPath);
    tray = new Tray(image); // tray.png is 16×16; tray@2x.png beside it serves HiDPI screens
  } catch {
    return null; // a desktop without a tray: the window title still carries the count
  }
  tray.setToolTip(trayTooltip(0));
  tray.setContextMenu(Menu.buildFromTemplate([
    { label: 'Show Quorum Chat', click: show },
    { type: 'separator' },
    { label: 'Quit', click: quit },
  ]));
  tray.on('click', show);
  let last = -1;
  return {
    setUnread(count: number): void {
      if (count === last || tray.isDestroyed()) return;
      last = count;
      tray.setToolTip(trayTooltip(count));
      if (process.platform === 'darwin') tray.setTitle(count > 0 ? String(count) : '');
      app.setBadgeCount(count);
    },
    destroy(): void {
      if (!tray.isDestroyed()) tray.destroy();
    },
  };
}
