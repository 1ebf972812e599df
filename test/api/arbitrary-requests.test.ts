// Arbitrary bytes as ChatService requests, with assorted credentials, against a real one-peer
// group: as the unary calls, as SendStream's frames and as Events' request. Every call must end
// in a result or a status with a qc-code that says what is wrong (bytes that are not a request:
// INVALID_ARGUMENT, "not a SendDirect request: …"), never UNKNOWN or INTERNAL (an exception
// nobody meant) and never by the caller's deadline. The peer still serves afterwards. Found this
// way: grpc-js, left to refuse an undecodable SendStream frame itself, could end the stream with
// no status at all (main/api/grpc-wire.ts, UndecodableRequest).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadChatService } from '../../main/transport/proto.js';
import { as, TestClient, type Meta } from '../helpers/grpc-client.js';
import { PeerGroup } from '../helpers/peer-group.js';
import { seededRandom } from '../unit/raft/harness.js';

/** Calls that would end the group or the accounts the later calls use. */
const leftOut = new Set(['LeaveGroup', 'RemoveMember', 'TransferLeadership', 'DeleteAccount', 'Logout']);
const credentials: Meta[] = [{}, as('alice'), { 'qc-token': 'not a token' }, { 'qc-user': 'alice' }, { 'qc-user': '%'.repeat(300), 'qc-password': '' }];
const identity = (b: Buffer) => b;

function metadataOf(meta: Meta): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(meta)) md.set(key, value);
  return md;
}

/** How a call ended: 'ok', or STATUS:qc-code, with the details of a status we never mean to send. */
function outcomeOf(err: grpc.ServiceError | null): string {
  if (err === null) return 'ok';
  const code = grpc.status[err.code] ?? String(err.code);
  const unmeant = [grpc.status.UNKNOWN, grpc.status.INTERNAL, grpc.status.DEADLINE_EXCEEDED].includes(err.code);
  return `${code}:${err.metadata.get('qc-code')[0] ?? ''}${unmeant ? `: ${err.details}` : ''}`;
}

describe('arbitrary bytes as ChatService requests', () => {
  let group: PeerGroup;
  let client: TestClient;
  let raw: grpc.Client;
  const { client: service } = loadChatService();
  const methods = Object.entries(service.service).filter(([name]) => !leftOut.has(name));

  before(async () => {
    group = await PeerGroup.start({ size: 1, writeTimeoutMs: 1_500 });
    client = new TestClient(group.addresses[0] as string);
    await client.register('alice', 'bob');
    raw = new grpc.Client(group.addresses[0] as string, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    raw?.close();
    await group?.stop();
  });

  test('each call gets a result or a status that says what is wrong; the peer still serves', { timeout: 120_000 }, async (t) => {
    const random = seededRandom(7);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const bytes = () => Buffer.from(Array.from({ length: int(0, 64) }, () => int(0, 255)));
    const outcomes = new Map<string, number>();
    const note = (outcome: string, what: string) => {
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      assert.doesNotMatch(outcome, /^(UNKNOWN|INTERNAL|DEADLINE_EXCEEDED)/, what);
    };
    for (let i = 0; i < 2_000; i++) {
      const [name, method] = methods[int(0, methods.length - 1)] as [string, grpc.MethodDefinition<unknown, unknown>];
      const request = bytes();
      const md = metadataOf(credentials[int(0, credentials.length - 1)] as Meta);
      const what = `${name}(${request.toString('hex')})`;
      if (method.requestStream) {
        const call = raw.makeBidiStreamRequest(method.path, identity, identity, md, { deadline: Date.now() + 5_000 });
        const ended = new Promise<string>((resolve) => {
          call.on('data', () => undefined);
          call.on('error', (err: grpc.ServiceError) => resolve(outcomeOf(err)));
          call.on('end', () => resolve('ok'));
        });
        for (let frame = int(1, 4); frame > 0; frame--) call.write(bytes());
        call.end();
        note(await ended, what);
      } else if (method.responseStream) {
        const call = raw.makeServerStreamRequest(method.path, identity, identity, request, md, { deadline: Date.now() + 300 });
        note(await new Promise<string>((resolve) => {
          call.on('data', () => undefined);
          // Subscribed: the stream stays open until the deadline, which is the caller's ending.
          call.on('error', (err: grpc.ServiceError) => resolve(err.code === grpc.status.DEADLINE_EXCEEDED ? 'subscribed' : outcomeOf(err)));
          call.on('end', () => resolve('ok'));
        }), what);
      } else {
        note(await new Promise<string>((resolve) => {
          raw.makeUnaryRequest(method.path, identity, identity, request, md, { deadline: Date.now() + 5_000 }, (err) => resolve(outcomeOf(err)));
        }), what);
      }
    }
    t.diagnostic([...outcomes].sort().map(([k, v]) => `${k} ${v}`).join(', '));
    assert.ok((outcomes.get('INVALID_ARGUMENT:invalid-argument') ?? 0) > 1_000, 'most random bytes are not a request, and are refused as such');
    assert.ok((outcomes.get('UNAUTHENTICATED:not-logged-in') ?? 0) > 0, 'some decoded and reached the handlers');
    const reply = await client.call<{ messageId: number }>('SendDirect', { to: 'bob', text: 'still serving' }, as('alice'));
    assert.ok(reply.messageId > 0);
  });

  test('a SendStream frame that is not a request ends the stream with INVALID_ARGUMENT, after answers to the frames before it', async () => {
    const method = service.service.SendStream as grpc.MethodDefinition<object, unknown>;
    const call = raw.makeBidiStreamRequest(method.path, identity, identity, metadataOf(as('alice')), { deadline: Date.now() + 10_000 });
    let answers = 0;
    const ended = new Promise<grpc.ServiceError | null>((resolve) => {
      call.on('data', () => answers++);
      call.on('error', resolve);
      call.on('end', () => resolve(null));
    });
    for (const text of ['one', 'two']) call.write(method.requestSerialize({ to: 'bob', text }));
    call.write(Buffer.from([0xff, 0xff, 0xff]));
    call.end();
    const err = await ended;
    assert.ok(err !== null, 'the stream ends with an error status');
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
    assert.deepEqual(err.metadata.get('qc-code'), ['invalid-argument']);
    assert.match(err.details, /^not a SendStream request: /);
    assert.ok(answers <= 2);
  });
});
