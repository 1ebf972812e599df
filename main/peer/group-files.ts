// A group peer's secrets, kept in its data directory so that a restart needs only `--data DIR`:
// group.json (group id, name and the secret) and this node's TLS key and certificate. All three
// are written once, owner-only (mode 0600): whoever reads the secret can join the group.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { fingerprintOf, groupAuthority, issueNodeCertificate, type NodeCertificate } from '../security/certificates.js';
import { groupIdOf } from '../security/group-secret.js';
import { peerTls, type PeerTls } from '../security/tls.js';
import { mkdirDurably, writeFileDurably } from '../storage/fsync.js';
import { readJsonFile } from './json-file.js';

const groupSchema = z.strictObject({
  groupId: z.string().regex(/^[0-9a-f]{16}$/),
  groupName: z.string().min(1).max(64),
  /** The group secret, hex. */
  secret: z.string().regex(/^[0-9a-f]+$/),
});

export type GroupConfig = z.infer<typeof groupSchema>;

const groupFile = 'group.json';
/** A joiner's group name until it has seen a member announce the real one. */
export const unnamedGroup = '(joining)';
const keyFile = 'node-key.pem';
const certFile = 'node-cert.pem';

export function readGroupConfig(dataDir: string): GroupConfig | null {
  const path = join(dataDir, groupFile);
  const group = readJsonFile(path, groupSchema, 'is not a group file', '');
  if (group !== null && groupIdOf(Buffer.from(group.secret, 'hex')) !== group.groupId) throw new Error(`${path}: group id does not match the secret`);
  return group;
}

/** The same group under the name its members announce (a joiner learns it from them). */
export function renameGroup(dataDir: string, group: GroupConfig, groupName: string): GroupConfig {
  return writeGroupConfig(dataDir, Buffer.from(group.secret, 'hex'), groupName);
}

export function writeGroupConfig(dataDir: string, secret: Buffer, groupName: string): GroupConfig {
  const config: GroupConfig = { groupId: groupIdOf(secret), groupName, secret: secret.toString('hex') };
  writePrivate(dataDir, groupFile, JSON.stringify(groupSchema.parse(config), null, 2) + '\n');
  return config;
}

/**
 * This node's certificate: issued by the group CA on first use and kept, so that its
 * fingerprint (pinned in the membership) stays the same across restarts.
 */
export async function nodeCertificate(dataDir: string, group: GroupConfig, nodeId: string): Promise<NodeCertificate> {
  const keyPath = join(dataDir, keyFile);
  const certPath = join(dataDir, certFile);
  if (existsSync(keyPath) && existsSync(certPath)) {
    const certPem = readFileSync(certPath, 'utf8');
    return { nodeId, certPem, keyPem: readFileSync(keyPath, 'utf8'), fingerprint: fingerprintOf(certPem) };
  }
  const issued = await issueNodeCertificate(await groupAuthority(Buffer.from(group.secret, 'hex')), nodeId);
  writePrivate(dataDir, keyFile, issued.keyPem);
  writePrivate(dataDir, certFile, issued.certPem);
  return issued;
}

/** Mutual-TLS credentials for a group peer, from its data directory. */
export async function groupTls(dataDir: string, group: GroupConfig, nodeId: string): Promise<{ tls: PeerTls; node: NodeCertificate }> {
  const node = await nodeCertificate(dataDir, group, nodeId);
  return { tls: peerTls(await groupAuthority(Buffer.from(group.secret, 'hex')), node), node };
}

/** Atomic, durable owner-only write (writeFileDurably): never a half-written or world-readable secret. */
function writePrivate(dataDir: string, name: string, text: string): void {
  mkdirDurably(dataDir);
  writeFileDurably(join(dataDir, name), text, 0o600);
}
