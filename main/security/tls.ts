// gRPC credentials for mutual TLS between members, and the identity of the peer behind a call.
// Both sides present a node certificate issued by the group CA; the client also checks that
// the server's certificate names the node id it meant to reach.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { GroupAuthority, NodeCertificate } from './certificates.js';

export interface PeerTls {
  readonly server: grpc.ServerCredentials;
  readonly channel: grpc.ChannelCredentials;
  /**
   * For dialling an address whose node id is not known yet (joining by address): any
   * certificate of the group CA is accepted, whatever node it names.
   */
  readonly anyMember: grpc.ChannelCredentials;
  /** Channel options for reaching `nodeId`: its certificate must name it. */
  channelOptions(nodeId: string): grpc.ChannelOptions;
  /** This node's certificate fingerprint (what the membership pins for it). */
  readonly fingerprint: string;
}

export function peerTls(authority: GroupAuthority, node: NodeCertificate): PeerTls {
  const ca = Buffer.from(authority.certPem);
  const key = Buffer.from(node.keyPem);
  const cert = Buffer.from(node.certPem);
  return {
    server: grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true),
    channel: grpc.credentials.createSsl(ca, key, cert),
    anyMember: grpc.credentials.createSsl(ca, key, cert, { checkServerIdentity: () => undefined }),
    channelOptions: (nodeId) => ({ 'grpc.ssl_target_name_override': nodeId, 'grpc.default_authority': nodeId }),
    fingerprint: node.fingerprint,
  };
}

export interface CallIdentity {
  readonly nodeId: string;
  readonly fingerprint: string;
}

/** The node id and certificate fingerprint of the TLS client behind `call` (null without TLS). */
export function callIdentity(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>): CallIdentity | null {
  const cert = call.getAuthContext()?.sslPeerCertificate as PeerCertificate | undefined;
  const nodeId = cert?.subject?.CN;
  if (cert === undefined || typeof nodeId !== 'string' || cert.raw === undefined) return null;
  return { nodeId, fingerprint: createHash('sha256').update(cert.raw).digest('hex') };
}
