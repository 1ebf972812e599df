// A deliberately thin ChatService client for tests: any RPC by name, metadata as a plain
// object, failures as plain data (gRPC status, `qc-code`, details) to assert on.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadChatService } from '../../main/transport/proto.js';
import { waitFor } from './wait.js';

export type Meta = Record<string, string>;

/** The password of every test account. */
export const password = 'correct horse';

/** Per-call name + password metadata for a test account. */
export function as(username: string): Meta {
  return { 'qc-user': username, 'qc-password': password };
}

/** Request ids of one client: 1, 2, 3, ... */
export function requestIds(clientId: string): () => { clientId: string; seq: number } {
  let seq = 0;
  return () => ({ clientId, seq: ++seq });
}
type Unary = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply: unknown) => void) => void;

export interface Failure {
  readonly status: grpc.status;
  readonly code: string;
  readonly details: string;
}

export class TestClient {
  private readonly raw: grpc.Client;

  constructor(readonly address: string, private readonly meta: Meta = {}) {
    const { client } = loadChatService();
    this.raw = new client(address, grpc.credentials.createInsecure());
  }

  /** The same server, other metadata (credentials). */
  as(meta: Meta): TestClient {
    return new TestClient(this.address, meta);
  }

  call<T = Record<string, unknown>>(method: string, request: object = {}, meta: Meta = {}): Promise<T> {
    const fn = (this.raw as unknown as Record<string, Unary>)[method];
    assert.ok(fn !== undefined, `ChatService has no ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(this.raw, request, metadata({ ...this.meta, ...meta }), { deadline: Date.now() + 10_000 }, (err, reply) => {
        if (err === null) resolve(reply as T);
        else reject(err);
      });
    });
  }

  /** Registers these accounts (the shared test password), one after the other. */
  async register(...usernames: string[]): Promise<void> {
    for (const username of usernames) await this.call('Register', { username, password });
  }

  /** Calls an RPC that must fail; returns how. */
  async failure(method: string, request: object = {}, meta: Meta = {}): Promise<Failure> {
    try {
      await this.call(method, request, meta);
    } catch (err) {
      return failureOf(err as grpc.ServiceError);
    }
    assert.fail(`${method} succeeded, expected a failure`);
  }

  events(meta: Meta = {}): EventStream {
    const call = (this.raw as unknown as { Events(r: object, md: grpc.Metadata): grpc.ClientReadableStream<Record<string, unknown>> })
      .Events({}, metadata({ ...this.meta, ...meta }));
    return new EventStream(call);
  }

  sendStream(meta: Meta = {}): grpc.ClientDuplexStream<object, Record<string, unknown>> {
    return (this.raw as unknown as { SendStream(md: grpc.Metadata): grpc.ClientDuplexStream<object, Record<string, unknown>> })
      .SendStream(metadata({ ...this.meta, ...meta }));
  }

  close(): void {
    this.raw.close();
  }
}

/** Collects a server stream's events and how it ended. */
export class EventStream {
  readonly events: Record<string, unknown>[] = [];
  ended: Failure | 'ok' | null = null;

  constructor(readonly call: grpc.ClientReadableStream<Record<string, unknown>>) {
    call.on('data', (e: Record<string, unknown>) => this.events.push(e));
    call.on('error', (err: grpc.ServiceError) => (this.ended ??= failureOf(err)));
    call.on('end', () => (this.ended ??= 'ok'));
  }

  /** The first event (received or to come) of that oneof kind that satisfies `match`. */
  next<T>(kind: string, match: (e: T) => boolean = () => true): Promise<T> {
    const present = (e: T | null | undefined): e is T => e !== null && e !== undefined;
    return waitFor(() => this.events.map((e) => e[kind] as T | null | undefined).filter(present).find(match), `a ${kind} event`);
  }

  cancel(): void {
    this.call.cancel();
  }
}

export function failureOf(err: grpc.ServiceError): Failure {
  return { status: err.code, code: String(err.metadata?.get('qc-code')[0] ?? ''), details: err.details };
}

function metadata(meta: Meta): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(meta)) md.set(key, value);
  return md;
}
