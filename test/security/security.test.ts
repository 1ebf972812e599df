import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  createGroupSecret, decodeInviteCode, encodeInviteCode, groupIdOf, InviteCodeError,
} from '../../main/security/group-secret.js';
import {
  groupAuthority, issueNodeCertificate, verifyNodeCertificate, type GroupAuthority, type NodeCertificate,
} from '../../main/security/certificates.js';
import { callIdentity, peerTls } from '../../main/security/tls.js';
import { waitFor } from '../helpers/wait.js';

describe('group secret and invite codes', () => {
  it('round-trips the secret and detects typos', () => {
    const secret = createGroupSecret();
    const code = encodeInviteCode(secret);
    assert.match(code, /^qc1-[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeInviteCode(`  ${code}\n`), secret);
    const typo = code.slice(0, 10) + (code[10] === 'A' ? 'B' : 'A') + code.slice(11);
    assert.throws(() => decodeInviteCode(typo), (e: unknown) => e instanceof InviteCodeError && /mistyped/.test(e.message));
    assert.throws(() => decodeInviteCode('hello'), InviteCodeError);
    assert.throws(() => decodeInviteCode(code.slice(0, -3)), /wrong length/);
  });

  it('derives a public group id that differs between groups', () => {
    const a = createGroupSecret();
    assert.equal(groupIdOf(a), groupIdOf(Buffer.from(a)));
    assert.notEqual(groupIdOf(a), groupIdOf(createGroupSecret()));
    assert.match(groupIdOf(a), /^[0-9a-f]{16}$/);
  });
});

/** A one-method gRPC service that answers with the caller's verified node id. */
const whoami = {
  whoami: {
    path: '/test.Security/WhoAmI', requestStream: false, responseStream: false,
    requestSerialize: (x: Buffer) => x, requestDeserialize: (x: Buffer) => x,
    responseSerialize: (x: Buffer) => x, responseDeserialize: (x: Buffer) => x,
  },
} as const;
const WhoAmIClient = grpc.makeGenericClientConstructor(whoami, 'Security');

describe('mutual TLS between members', () => {
  let authority: GroupAuthority;
  let serverNode: NodeCertificate;
  let member: NodeCertificate;
  let server: grpc.Server;
  let port = 0;
  let calls = 0;

  before(async () => {
    const secret = createGroupSecret();
    authority = await groupAuthority(secret);
    serverNode = await issueNodeCertificate(authority, 'node-a');
    member = await issueNodeCertificate(await groupAuthority(Buffer.from(secret)), 'node-b');
    server = new grpc.Server();
    server.addService(whoami, {
      whoami: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        calls++;
        cb(null, Buffer.from(callIdentity(call)?.nodeId ?? 'anonymous'));
      },
    });
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(Buffer.from(authority.certPem), [{ private_key: Buffer.from(serverNode.keyPem), cert_chain: Buffer.from(serverNode.certPem) }], true), (e, p) => (e ? reject(e) : resolve(p))));
  });
  after(() => server.forceShutdown());

  async function call(tlsOf: ReturnType<typeof peerTls>, target: string, address = `127.0.0.1:${port}`): Promise<string> {
    const client = new WhoAmIClient(address, tlsOf.channel, tlsOf.channelOptions(target));
    try {
      return await new Promise((resolve, reject) => {
        (client as unknown as { whoami: (r: Buffer, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: Buffer) => void) => void })
          .whoami(Buffer.from('?'), { deadline: Date.now() + 5_000 }, (e, v) => (e ? reject(e) : resolve(String(v))));
      });
    } finally {
      client.close();
    }
  }

  it('certificates verify against the CA derived from the same secret only', async () => {
    assert.equal(verifyNodeCertificate(authority, member.certPem, 'node-b'), true);
    assert.equal(verifyNodeCertificate(authority, member.certPem, 'node-c'), false, 'names another node');
    const stranger = await issueNodeCertificate(await groupAuthority(createGroupSecret()), 'node-b');
    assert.equal(verifyNodeCertificate(authority, stranger.certPem, 'node-b'), false);
  });

  it('a member is accepted and identified by its certificate', async () => {
    assert.equal(await call(peerTls(authority, member), 'node-a'), 'node-b');
  });

  it('a peer without the group secret is refused at its first RPC', async () => {
    const before = calls;
    const otherAuthority = await groupAuthority(createGroupSecret());
    const stranger = await issueNodeCertificate(otherAuthority, 'node-b');
    await assert.rejects(call(peerTls(otherAuthority, stranger), 'node-a'), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    assert.equal(calls, before, 'the server never ran a handler for it');
  });

  it('a client refuses a server whose certificate names another node', async () => {
    await assert.rejects(call(peerTls(authority, member), 'node-z'), /altnames|does not match/);
  });

  it('recorded TLS traffic replayed on a new connection is refused', async () => {
    const recorded: Buffer[] = [];
    const proxy = await recordingProxy(port, recorded);
    try {
      const before = calls;
      assert.equal(await call(peerTls(authority, member), 'node-a', `127.0.0.1:${proxy.port}`), 'node-b');
      assert.equal(calls, before + 1);
      const replay = await replayBytes(port, Buffer.concat(recorded));
      assert.equal(calls, before + 1, 'the replayed bytes ran no call');
      assert.ok(replay.closed, 'the server closed the replaying connection');
    } finally {
      proxy.server.close();
    }
  });
});

/** A TCP proxy to `port` that records every byte the client sends. */
async function recordingProxy(port: number, recorded: Buffer[]): Promise<{ server: Server; port: number }> {
  const server = createServer((client: Socket) => {
    const upstream = connect(port, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      recorded.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Sends raw bytes on a fresh connection and waits until the server closes it. */
async function replayBytes(port: number, bytes: Buffer): Promise<{ closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  const state = { closed: false };
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => (state.closed = true));
  socket.on('connect', () => socket.write(bytes));
  socket.on('end', () => (state.closed = true)); // the server sent FIN: it gave up on us
  socket.resume(); // read (and discard) what the server answers, so that its FIN is seen
  try {
    await waitFor(() => state.closed, 'the server to close the replaying connection');
  } finally {
    socket.destroy();
  }
  return state;
}
