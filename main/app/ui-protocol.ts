// The app://quorum-chat/ scheme: the UI's own origin, served from the built UI folder. A
// standard, secure scheme gives the page a real origin (so 'self' in the CSP means just the
// app's files) without file:// and its broad access; every response carries the CSP.
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { appScheme, resolveUiPath, uiResponseHeaders } from './ui-files.js';

/** Must run before the app is ready (at module load of main.ts). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{
    scheme: appScheme,
    privileges: { standard: true, secure: true, supportFetchAPI: true },
  }]);
}

/** Serves app://quorum-chat/... from `uiDir`; anything outside it, or not a GET, is refused. */
export function serveUi(uiDir: string): void {
  protocol.handle(appScheme, async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed', { status: 405 });
    const file = resolveUiPath(uiDir, request.url);
    if (file === null) return new Response('forbidden', { status: 403 });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return new Response('not found', { status: 404 });
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: uiResponseHeaders(file) });
  });
}
