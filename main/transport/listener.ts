// The peer's one port. gRPC (the ChatService, Join and Leave), the Raft links and snapshot links
// share it: with TLS the handshake is ours, then a connection that opens with the Raft preface
// is a Raft link, one that opens with the snapshot preface a snapshot link, and any other is
// handed to grpc-js (its connection injector), which sees an already-decrypted HTTP/2
// connection and still reads the client's certificate from it.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { raftPreface, raftPrefaceFamily, snapshotPreface } from './frames.js';

/** A client that has not shown what it speaks within this long is dropped. */
const prefaceTimeoutMs = 10_000;
/** A Raft preface of any version ends with a newline within this many bytes. */
const maxPrefaceBytes = 32;

export interface ListenerRoutes {
  raft(socket: net.Socket): void;
  snapshot(socket: net.Socket): void;
  grpc(socket: net.Socket): void;
  /** A Raft link of another version (`preface` without its newline): refuse it. */
  otherRaftVersion(socket: net.Socket, preface: string): void;
}

export class PeerListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  /** Plaintext without `tlsOptions` (static groups); otherwise mutual TLS for every connection. */
  constructor(tlsOptions: tls.TlsOptions | undefined, private readonly routes: ListenerRoutes) {
    const accept = (socket: net.Socket) => this.accept(socket);
    // ALPN "h2": gRPC clients (Node's http2) insist on it; Raft links offer no protocol at all.
    this.server = tlsOptions === undefined
      ? net.createServer(accept)
      : tls.createServer({ ...tlsOptions, ALPNProtocols: ['h2'] }, accept);
    this.server.on('tlsClientError', () => undefined); // a failed handshake: the socket is already gone
  }

  /** Listens on `host:port` (IPv6 in brackets); resolves with the bound port. */
  listen(address: string): Promise<number> {
    const { host, port } = splitHostPort(address);
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: host === '' ? undefined : host, port }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** No new connections; those accepted stay. */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
  }

  /** Stops accepting and drops every connection this listener accepted. */
  close(): void {
    this.stopAccepting();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // the route's owner sees the close
    socket.setTimeout(prefaceTimeoutMs, () => socket.destroy());
    sniffPreface(socket, (route, preface) => {
      socket.setTimeout(0);
      if (route === 'other-raft') this.routes.otherRaftVersion(socket, preface);
      else this.routes[route](socket);
    });
  }
}

type Route = 'raft' | 'snapshot' | 'grpc' | 'other-raft';

/**
 * Reads until the first bytes show the route: not a Raft preface (gRPC), this version's Raft or
 * snapshot preface, or another version's; then puts back what the route must see (all of it for
 * gRPC, whatever follows the preface for the others).
 */
function sniffPreface(socket: net.Socket, route: (route: Route, preface: string) => void): void {
  let head = Buffer.alloc(0);
  const onReadable = () => {
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) head = Buffer.concat([head, chunk]);
    const seen = Math.min(head.length, raftPrefaceFamily.length);
    const raftFamily = head.subarray(0, seen).equals(raftPrefaceFamily.subarray(0, seen));
    const end = head.indexOf(0x0a);
    if (raftFamily && end < 0 && head.length < maxPrefaceBytes) return; // more to come
    socket.off('readable', onReadable);
    const prefaceLength = raftFamily ? (end < 0 ? head.length : end + 1) : 0;
    const preface = head.subarray(0, prefaceLength);
    const rest = head.subarray(prefaceLength);
    if (rest.length > 0) socket.unshift(rest);
    const shown = head.subarray(0, Math.min(end < 0 ? prefaceLength : end, maxPrefaceBytes)).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    route(!raftFamily ? 'grpc' : preface.equals(raftPreface) ? 'raft' : preface.equals(snapshotPreface) ? 'snapshot' : 'other-raft', shown);
  };
  socket.on('readable', onReadable);
}

/** `host:port`, IPv6 in brackets; throws on anything else. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || address.slice(colon + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`not host:port: ${address}`);
  }
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}
