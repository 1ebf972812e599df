// The TXT record of an announcement: g = group id, n = group name, id = node id,
// v = protocol version. Anyone on the LAN can send anything, so parsing never throws: a
// malformed announcement yields null and is ignored.
import { identityProblem, versionPattern } from './identity.js';
import type { PeerIdentity } from './types.js';

// RFC 6763 §6.1: one TXT string is at most 255 bytes.
const maxEntryBytes = 255;

/** The TXT key/value pairs announcing `identity` (validated first: we never announce junk). */
export function encodeTxt(identity: PeerIdentity): Record<string, string> {
  const problem = identityProblem(identity);
  if (problem !== null) throw new Error(`cannot advertise: ${problem}`);
  const txt = { g: identity.groupId, n: identity.groupName, id: identity.nodeId, v: String(identity.protocolVersion) };
  for (const [key, value] of Object.entries(txt)) {
    if (Buffer.byteLength(`${key}=${value}`) > maxEntryBytes) throw new Error(`cannot advertise: TXT entry ${key} is too long`);
  }
  return txt;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeEntry(entry: unknown): [string, string] | null {
  if (!(entry instanceof Uint8Array)) return null;
  let text: string;
  try {
    text = utf8.decode(entry);
  } catch {
    return null;
  }
  const eq = text.indexOf('=');
  // RFC 6763 §6.4: a string without '=' is a boolean attribute; none of ours are.
  if (eq <= 0) return null;
  return [text.slice(0, eq).toLowerCase(), text.slice(eq + 1)];
}

/**
 * Key/value pairs of a raw TXT record (an array of byte strings as it came off the wire).
 * Keys are case-insensitive and only the first occurrence of a key counts (RFC 6763 §6.4).
 */
export function txtEntries(raw: unknown): Map<string, string> {
  const entries = new Map<string, string>();
  if (!Array.isArray(raw)) return entries;
  for (const item of raw) {
    const pair = decodeEntry(item);
    if (pair !== null && !entries.has(pair[0])) entries.set(pair[0], pair[1]);
  }
  return entries;
}

/** The identity a raw TXT record announces, or null when anything is missing or malformed. */
export function parseTxt(raw: unknown): PeerIdentity | null {
  const entries = txtEntries(raw);
  const groupId = entries.get('g');
  const groupName = entries.get('n');
  const nodeId = entries.get('id');
  const version = entries.get('v');
  if (groupId === undefined || groupName === undefined || nodeId === undefined || version === undefined) return null;
  if (!versionPattern.test(version)) return null;
  const identity: PeerIdentity = { groupId, groupName, nodeId, protocolVersion: Number(version) };
  return identityProblem(identity) === null ? identity : null;
}
