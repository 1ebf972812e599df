// The group secret and its invite code. Everything that proves membership derives from the
// secret: the public group id shown on the LAN (which reveals nothing about the secret) and the
// group's certificate authority (see certificates.ts).
import { createHash, hkdfSync, randomBytes } from 'node:crypto';

const secretBytes = 20;
const codePrefix = 'qc1-';

export class InviteCodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InviteCodeError';
  }
}

export function createGroupSecret(): Buffer {
  return randomBytes(secretBytes);
}

/** Derives `length` bytes for one purpose from the secret (HKDF-SHA256, one label per use). */
export function deriveFromSecret(secret: Buffer, purpose: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'quorum-chat group', purpose, length));
}

/** The public id of the group (in mDNS announcements): 16 hex characters. */
export function groupIdOf(secret: Buffer): string {
  return deriveFromSecret(secret, 'group-id', 8).toString('hex');
}

/** `qc1-` + base64url(secret + 2 check bytes): copy-paste friendly, typos are detected. */
export function encodeInviteCode(secret: Buffer): string {
  return codePrefix + Buffer.concat([secret, checkBytes(secret)]).toString('base64url');
}

export function decodeInviteCode(code: string): Buffer {
  const trimmed = code.trim();
  if (!trimmed.startsWith(codePrefix)) throw new InviteCodeError('not a Quorum Chat invite code (it starts with "qc1-")');
  const raw = Buffer.from(trimmed.slice(codePrefix.length), 'base64url');
  if (raw.length !== secretBytes + 2) throw new InviteCodeError('invite code has the wrong length; copy it again');
  const secret = raw.subarray(0, secretBytes);
  if (!checkBytes(secret).equals(raw.subarray(secretBytes))) throw new InviteCodeError('invite code is mistyped (checksum mismatch)');
  return Buffer.from(secret);
}

function checkBytes(secret: Buffer): Buffer {
  return createHash('sha256').update('qc1').update(secret).digest().subarray(0, 2);
}
