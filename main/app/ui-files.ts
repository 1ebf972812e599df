// Pure helpers of the Electron shell, kept free of Electron so they can be tested under Node:
// the app:// origin, the UI's Content-Security-Policy, mapping an app:// URL to a file of the
// built UI (refusing anything outside it), and the unread count in the window title.
import { extname, isAbsolute, join, normalize, relative, sep } from 'node:path';

/** The privileged scheme the UI is served from, and its one host: app://quorum-chat/. */
export const appScheme = 'app';
export const appHost = 'quorum-chat';
export const appOrigin = `${appScheme}://${appHost}`;
export const appIndexUrl = `${appOrigin}/index.html`;

/**
 * Sent with every response of the app:// protocol. The UI talks to its peer only through the
 * preload's IPC, so it needs no network at all (connect-src 'none'); inline styles are allowed
 * because React sets style attributes.
 */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** True for URLs of our own UI (app://quorum-chat/...), and nothing else. */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    // new URL() gives non-special schemes the origin "null": compare scheme and host instead.
    return parsed.protocol === `${appScheme}:` && parsed.host === appHost;
  } catch {
    return false;
  }
}

/** True for an origin string as Chromium reports it for our UI ("app://quorum-chat"). */
export function isAppOrigin(origin: string): boolean {
  return origin === appOrigin || origin === `${appOrigin}/`;
}

/**
 * The file of `uiDir` that an app:// URL names, or null when the URL is not ours or points
 * outside `uiDir` (path traversal, encoded or not). A path without an extension is a route
 * of the single-page UI and gets index.html.
 */
export function resolveUiPath(uiDir: string, url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${appScheme}:` || parsed.host !== appHost) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return null; // malformed percent-encoding
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  if (pathname.split('/').includes('..')) return null;
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  if (extname(pathname) === '') pathname = '/index.html';
  const root = normalize(uiDir);
  const file = normalize(join(root, pathname));
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null;
  return file;
}

const mimeTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function mimeTypeOf(file: string): string {
  return mimeTypes[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** The headers of every app:// response. */
export function uiResponseHeaders(file: string): Record<string, string> {
  return {
    'Content-Type': mimeTypeOf(file),
    'Content-Security-Policy': contentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
}

/**
 * The unread total the renderer puts in its title ("(3) Quorum Chat"); 0 when the title
 * carries none.
 */
export function unreadFromTitle(title: string): number {
  const match = /^\s*\((\d{1,9})\+?\)/.exec(title);
  return match === null ? 0 : Number(match[1]);
}

/** The tray's tooltip for an unread total. */
export function trayTooltip(unread: number): string {
  if (unread <= 0) return 'Quorum Chat';
  return `Quorum Chat: ${unread} unread message${unread === 1 ? '' : 's'}`;
}
