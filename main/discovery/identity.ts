// What a peer claims to be (group id, group name, node id, protocol version): the rules a
// claim must satisfy before discovery passes it on, and comparisons used to tell a real
// change from a mere refresh.
import type { PeerIdentity } from './types.js';

const idPattern = /^[A-Za-z0-9_.-]{1,64}$/;
export const versionPattern = /^[1-9][0-9]{0,8}$/;
// C0, DEL and C1 controls: a name is shown to people, so no escapes or line breaks.
const controlCharacters = /\p{Cc}/u;
const maxNameLength = 63;

export function isValidId(value: string): boolean {
  return idPattern.test(value);
}

function isValidName(value: string): boolean {
  return value.length >= 1 && [...value].length <= maxNameLength && !controlCharacters.test(value);
}

/** The reason an identity is not acceptable, or null when it is. */
export function identityProblem(identity: PeerIdentity): string | null {
  if (!isValidId(identity.groupId)) return `group id "${identity.groupId}" must be 1-64 of A-Z a-z 0-9 _ . -`;
  if (!isValidId(identity.nodeId)) return `node id "${identity.nodeId}" must be 1-64 of A-Z a-z 0-9 _ . -`;
  if (!isValidName(identity.groupName)) return `group name must be 1-${maxNameLength} characters without control characters`;
  if (!Number.isSafeInteger(identity.protocolVersion) || !versionPattern.test(String(identity.protocolVersion))) {
    return `protocol version ${identity.protocolVersion} must be a positive integer`;
  }
  return null;
}

/** Just the identity fields (callers may hand in objects that carry more). */
export function identityOf(value: PeerIdentity): PeerIdentity {
  return { groupId: value.groupId, groupName: value.groupName, nodeId: value.nodeId, protocolVersion: value.protocolVersion };
}

export function sameIdentity(a: PeerIdentity, b: PeerIdentity): boolean {
  return a.groupId === b.groupId && a.groupName === b.groupName && a.nodeId === b.nodeId && a.protocolVersion === b.protocolVersion;
}

export function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
