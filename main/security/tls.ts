// gRPC credentials for mutual TLS between members, and the identity of the peer behind a call.
// Both sides present a node certificate issued by the group CA; the client also checks that
// the server's certificate names the node id it meant to reach.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { ConnectionOptions, PeerCertificate, TlsOptions } from 'node:tls';
import type { GroupAuthority, NodeCertificate } from './certificates.js';

export interface PeerTls {
  /** The listener's TLS: this node's certificate, and a group certificate required of every client. */
  readonly serverOptions: TlsOptions;
  /** A raw TLS connection to `nodeId` (the Raft link): its certificate must name it. */
  connectOptions(nodeId: string): ConnectionOptions;
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
    serverOptions: { ca, key, cert, requestCert: true, rejectUnauthorized: true },
    connectOptions: (nodeId) => ({ ca, key, cert, servername: nodeId }),
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
export function callIdentity(call: GrpcCall): CallIdentity | null {
  return certificateIdentity(callCertificate(call));
}

type GrpcCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

/** The verified client certificate behind a gRPC call (undefined without TLS). */
export function callCertificate(call: GrpcCall): PeerCertificate | undefined {
  return call.getAuthContext()?.sslPeerCertificate as PeerCertificate | undefined;
}

/** The node id and fingerprint a verified client certificate shows (null without one). */
export function certificateIdentity(cert: PeerCertificate | undefined): CallIdentity | null {
  const nodeId = cert?.subject?.CN;
  if (cert === undefined || typeof nodeId !== 'string' || cert.raw === undefined) return null;
  return { nodeId, fingerprint: createHash('sha256').update(cert.raw).digest('hex') };
}
