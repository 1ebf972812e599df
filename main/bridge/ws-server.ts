// The headless peer's UI server: the built UI over HTTP and the bridge over a WebSocket, on
// 127.0.0.1 only. Whoever can open a socket here could act as the user, so the upgrade needs
// the per-launch token (in the URL the peer prints), our Origin (no other web page), and our
// Host (a DNS-rebinding page reaches 127.0.0.1 under a foreign host name; plain HTTP too).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { webSocketPath, type BridgeMessage } from '../../common/bridge.js';
import type { Logger } from '../log/logger.js';
import { createBridgeSession, unreadableRequestId, type BridgeHost } from './dispatcher.js';

export interface UiServerOptions {
  readonly host: BridgeHost;
  /** 0: any free port. */
  readonly port: number;
  /** The built UI (renderer/dist). */
  readonly staticDir: string;
  readonly logger: Logger;
}

export interface UiServer {
  readonly port: number;
  readonly token: string;
  /** Where to point a browser: the token travels in the fragment, never in a request. */
  readonly url: string;
  /** Closes every socket (ending its session) and the server. */
  close(): Promise<void>;
}

/** A frame larger than this is refused (the socket closes with 1009). */
export const maxFrameBytes = 1024 * 1024;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.ico': 'image/x-icon', '.webp': 'image/webp', '.woff': 'font/woff', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
};

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = randomBytes(24).toString('base64url');
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes });
  const server = createServer();
  let port = 0;
  const origins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const hosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!hosts().has(req.headers.host ?? '')) return refuse(res, 421, 'wrong Host: open the UI at http://127.0.0.1:PORT/');
    serveStatic(options.staticDir, port, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const problem = upgradeProblem(req, token, hosts(), origins());
    if (problem !== null) {
      options.logger.warn({ status: problem.status, reason: problem.reason }, 'refused a bridge connection');
      return refuseUpgrade(socket, problem.status, problem.reason);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      serveBridge(ws, options);
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    port, token, url: `http://127.0.0.1:${port}/#token=${token}`,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

// ---- the WebSocket bridge --------------------------------------------------------------------

function upgradeProblem(req: IncomingMessage, token: string, hosts: Set<string>, origins: Set<string>): { status: number; reason: string } | null {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== webSocketPath) return { status: 404, reason: 'no such endpoint' };
  if (!hosts.has(req.headers.host ?? '')) return { status: 421, reason: 'wrong Host' };
  // Browsers always send an Origin with a WebSocket handshake: none means it is not our page.
  if (!origins.has(req.headers.origin ?? '')) return { status: 403, reason: 'foreign or missing Origin' };
  if (!sameSecret(url.searchParams.get('token') ?? '', token)) return { status: 401, reason: 'missing or wrong token' };
  return null;
}

/** Constant time, so that the token cannot be guessed a character at a time. */
function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  const statusText = ({ 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 421: 'Misdirected Request' } as Record<number, string>)[status] ?? 'Refused';
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
}

/** One bridge session per socket; each frame is one JSON request, each answer one JSON frame. */
function serveBridge(ws: WebSocket, options: UiServerOptions): void {
  const send = (message: BridgeMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const session = createBridgeSession(options.host, send, { logger: options.logger });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    let request: unknown;
    try {
      request = JSON.parse(isBinary ? '' : rawText(data));
    } catch {
      send({ type: 'reply', id: unreadableRequestId, ok: false, error: { code: 'invalid-argument', message: 'a bridge frame is one JSON request (text)' } });
      return;
    }
    void session.handle(request).then(send);
  });
  ws.on('error', (err) => options.logger.warn({ err: err.message }, 'bridge socket error'));
  ws.once('close', () => session.close());
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

// ---- static files ------------------------------------------------------------------------------

function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': `default-src 'self'; connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}; `
      + "img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

function serveStatic(staticDir: string, port: number, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'only GET and HEAD');
  const root = resolve(staticDir);
  const index = join(root, 'index.html');
  if (!existsSync(index)) return refuse(res, 503, 'the UI is not built: run npm run build:ui');
  const file = fileFor(root, new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  if (file === null) return refuse(res, 404, 'not found');
  const type = contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, { ...securityHeaders(port), 'Content-Type': type, 'Content-Length': statSync(file).size, 'Cache-Control': 'no-cache' });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

/**
 * The file a path names inside the UI folder: index.html for "/" and for app routes (paths
 * without an extension); null for a missing asset or anything outside the folder.
 */
function fileFor(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const candidate = normalize(join(root, decoded));
  if (candidate !== root && !candidate.startsWith(root + sep)) return null;
  if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return extname(decoded) === '' ? join(root, 'index.html') : null;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', Connection: 'close' });
  res.end(`${message}\n`);
}
