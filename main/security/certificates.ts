// Certificates for mutual TLS between peers. The group's certificate authority key is derived
// from the group secret, so every holder of the secret (and nobody else) can issue a node
// certificate that the other members accept. Each node keeps its own key pair; its certificate
// names its node id (CN and DNS SAN), which the other side checks as the TLS server name.
import 'reflect-metadata'; // required by @peculiar/x509's dependency injection
import * as x509 from '@peculiar/x509';
import { createECDH, createHash, KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { deriveFromSecret } from './group-secret.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
/** Order of the P-256 group: the CA's private scalar must lie in [1, n-1]. */
const p256Order = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const caName = 'CN=Quorum Chat group';
const farFuture = new Date('2126-01-01T00:00:00Z');

export interface NodeCertificate {
  readonly nodeId: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the DER certificate, hex: what the membership pins. */
  readonly fingerprint: string;
}

export interface GroupAuthority {
  readonly certPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly cert: x509.X509Certificate;
}

/** The group CA: the same key on every member, derived from the secret. */
export async function groupAuthority(secret: Buffer): Promise<GroupAuthority> {
  const keys = await derivedKeyPair(secret);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: caName, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: farFuture,
    keys, signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keys, cert };
}

/** A fresh key pair and a certificate for `nodeId`, signed by the group CA. */
export async function issueNodeCertificate(authority: GroupAuthority, nodeId: string): Promise<NodeCertificate> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'), subject: `CN=${nodeId}`, issuer: authority.cert.subject,
    notBefore: new Date(Date.now() - 24 * 3600 * 1000), notAfter: farFuture,
    signingKey: authority.keys.privateKey, publicKey: keys.publicKey, signingAlgorithm: algorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: nodeId }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(authority.cert),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  const certPem = cert.toString('pem');
  return { nodeId, certPem, keyPem, fingerprint: fingerprintOf(certPem) };
}

export function fingerprintOf(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

/** Whether `certPem` was issued by the group CA and names `nodeId`. */
export function verifyNodeCertificate(authority: GroupAuthority, certPem: string, nodeId: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return cert.verify(new X509Certificate(authority.certPem).publicKey) && cert.subject === `CN=${nodeId}`;
  } catch {
    return false;
  }
}

/** P-256 key pair whose private scalar comes from the secret (HKDF, reduced into range). */
async function derivedKeyPair(secret: Buffer): Promise<webcrypto.CryptoKeyPair> {
  const wide = deriveFromSecret(secret, 'ca-key', 48); // 384 bits: reduction bias is negligible
  const scalar = (BigInt(`0x${wide.toString('hex')}`) % (p256Order - 1n)) + 1n;
  const d = Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 || x || y
  const pub = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
  const privateKey = await webcrypto.subtle.importKey('jwk', { ...pub, d: d.toString('base64url') }, algorithm, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('jwk', pub, algorithm, true, ['verify']);
  return { privateKey, publicKey } as webcrypto.CryptoKeyPair;
}
