// Session tokens: 32 random bytes (base64url) made by the peer that accepts a login. Replicas
// keep only their SHA-256, so verifying a token on any peer is one lookup of its hash.
import { createHash, randomBytes } from 'node:crypto';

const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether `token` has the shape of one of ours (cheap check before hashing untrusted input). */
export function isSessionToken(token: string): boolean {
  return tokenPattern.test(token);
}

/** Lower-case hex SHA-256 of a token: what the sessions table stores. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
