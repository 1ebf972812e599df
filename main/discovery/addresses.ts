// Peer addresses as `host:port` strings (IPv6 in brackets), checked before they are trusted
// with a dial: an announcement or a cache file may carry anything.
import { isIP, isIPv4 } from 'node:net';

/** At most this many addresses are kept per peer: a flood of records cannot grow the table. */
export const maxAddresses = 16;

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535;
}

export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

const hostPattern = /^[A-Za-z0-9.-]{1,253}$/;

/** `host:port` with a port in range and a host that is an IP address or a DNS name, else null. */
export function parseAddress(text: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):([0-9]{1,5})$/.exec(text);
  if (match === null) return null;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (!isValidPort(port)) return null;
  if (match[1] !== undefined ? isIP(host) !== 6 : !(isIPv4(host) || hostPattern.test(host))) return null;
  return { host, port };
}

/**
 * Whether an IPv4 address seen in an announcement can be dialled from the LAN: not
 * unspecified, loopback, multicast or broadcast (a remote claiming 127.0.0.1 would have us
 * dial ourselves).
 */
export function isDialableIPv4(address: unknown): address is string {
  if (typeof address !== 'string' || !isIPv4(address)) return false;
  const first = Number(address.split('.')[0]);
  return first !== 0 && first !== 127 && first < 224;
}

/** The first `maxAddresses` distinct entries, in order. */
export function uniqueAddresses(lists: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(lists.flat())].slice(0, maxAddresses);
}
