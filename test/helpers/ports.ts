// Loopback ports that are free right now (the OS picks them; a peer binds them a moment later).
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/** `n` distinct free ports: all are held open together, then released. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
