// Drives crash-driver.ts children for the crash tests: start a replica on a data directory,
// run operations, arm a crash point and watch the process die by SIGKILL, restart, compare.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { encodeCommand } from '../../main/chat/commands.js';
import type { ChatRequest } from '../../main/chat/prepare.js';
import type { SnapshotMeta } from '../../main/raft/types.js';
import type { CrashPoint } from '../../main/storage/crash.js';
import { canonicalHash } from '../../main/storage/hash.js';
import { ChatReplica } from '../helpers/chat-replica.js';
import { JsonChild, type Line } from '../helpers/json-child.js';
import { freshStorage } from '../helpers/storage.js';
import type { DriverOp, ProposeOp } from './crash-driver.js';

const driver = fileURLToPath(new URL('./crash-driver.ts', import.meta.url));

export interface Status {
  term: number;
  vote: string | null;
  role: string;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  snapshotFiles: string[];
}

export interface Ack {
  client: string;
  seq: number;
  index: number;
  result: { ok: boolean; value?: Record<string, number>; code?: string };
  duplicate: boolean;
}

export class DriverProcess {
  private constructor(private readonly child: JsonChild) {}

  /** Starts a replica on `dir`; it is killed after the test if still running. */
  static async start(t: TestContext, dir: string, options: { env?: Record<string, string>; snapshotEvery?: number } = {}):
  Promise<{ replica: DriverProcess; loaded: Status }> {
    const replica = new DriverProcess(JsonChild.start(driver, [dir, String(options.snapshotEvery ?? 0)], options.env));
    t.after(() => replica.child.stop());
    const line = await replica.child.next((l) => 'loaded' in l, 'the replica to load its data directory');
    return { replica, loaded: line.loaded as Status };
  }

  /** Runs one operation to its end; returns the lines it printed. */
  async run(op: DriverOp): Promise<Line[]> {
    const from = this.child.lines.length;
    this.child.send(op);
    await this.child.next((l) => l.done === op.op, `"${op.op}" to finish`, { from });
    return this.child.lines.slice(from);
  }

  /** Arms `point`, runs `op`, and expects the process to die there by SIGKILL; returns what it printed. */
  async crashDuring(point: string, op: DriverOp): Promise<Line[]> {
    await this.run({ op: 'arm', at: point });
    return this.expectCrash(op);
  }

  /** Runs `op`, which must kill the process (SIGKILL) before it finishes; returns what it printed. */
  async expectCrash(op: DriverOp): Promise<Line[]> {
    const from = this.child.lines.length;
    this.child.send(op);
    const exit = await this.child.exit();
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' }, `expected a crash during ${op.op}; stderr:\n${this.child.errorOutput}`);
    const printed = this.child.lines.slice(from);
    assert.ok(!printed.some((l) => l.done === op.op), `${op.op} finished: the crash point was never reached`);
    return printed;
  }

  async exitCleanly(): Promise<void> {
    this.child.send({ op: 'exit' });
    assert.deepEqual(await this.child.exit(), { code: 0, signal: null });
  }
}

export function acks(lines: readonly Line[]): Ack[] {
  return lines.flatMap((l) => ('ack' in l ? [l.ack as Ack] : []));
}

export function propose(client: string, requests: readonly ChatRequest[], firstSeq = 1): ProposeOp {
  return { op: 'propose', client, requests: requests.map((request, i) => ({ seq: firstSeq + i, request })) };
}

export const setup = propose('setup', [
  { t: 'createAccount', username: 'alice', password: 'alice-password' },
  { t: 'createAccount', username: 'bob', password: 'bob-password' },
]);

/** Messages msg-<seq> from alice (1) to bob (2), sequence numbers as given, in one proposal. */
export function sends(...seqs: number[]): ProposeOp {
  return { op: 'propose', client: 'load', requests: seqs.map((seq) => ({ seq, request: { t: 'sendDirect', actor: 1, to: 2, text: `msg-${seq}` } })) };
}

export interface Dump {
  hash: string;
  messages: { id: number; body: string }[];
  status: Status;
}

export async function dump(replica: DriverProcess): Promise<Dump> {
  const line = (await replica.run({ op: 'dump' })).find((l) => 'dump' in l);
  return line?.dump as Dump;
}

export interface Donor {
  readonly file: string;
  readonly meta: SnapshotMeta;
  readonly hash: string;
}

/** A leader's state at index 500 (same accounts, other messages), as sent to a follower. */
export async function donor(t: TestContext): Promise<Donor> {
  const { dir, storage } = freshStorage(t);
  storage.bootstrap({ nodeId: 'donor', founders: { voters: ['n1'], learners: [] } });
  const replica = new ChatReplica(storage.stateDb, 'donor-client');
  const data: Uint8Array[] = [];
  for (const request of [...setup.requests.map((r) => r.request), { t: 'sendDirect', actor: 2, to: 1, text: 'from the leader' } as const]) {
    data.push(encodeCommand(await replica.prepare(request)));
  }
  while (data.length < 500) data.push(new Uint8Array(0));
  const log = replica.entries(data);
  storage.save({ term: 1, vote: null, commit: 500 }, log);
  replica.machine.applyBatch(log);
  const outgoing = await storage.snapshotToSend(storage.compactLog() as SnapshotMeta);
  const file = join(dir, 'donor.db');
  for await (const chunk of outgoing.chunks) appendFileSync(file, chunk);
  return { file, meta: outgoing.meta, hash: canonicalHash(storage.stateDb) };
}

/** A replica on `dir` that leads, holds the accounts and has sends 1 and 2 acknowledged, killed at `point` of a compaction. */
export async function crashWhileCompacting(t: TestContext, dir: string, point: CrashPoint): Promise<{ acked: Ack[]; before: Dump }> {
  const first = await DriverProcess.start(t, dir);
  await first.replica.run({ op: 'elect' });
  await first.replica.run(setup);
  const acked = acks(await first.replica.run(sends(1, 2)));
  const before = await dump(first.replica);
  await first.replica.crashDuring(point, { op: 'snapshot' });
  return { acked, before };
}

/** A replica on `dir` that leads, holds the accounts and msg-1, killed at `point` of installing `leader`'s snapshot. */
export async function crashWhileInstalling(t: TestContext, dir: string, point: CrashPoint, leader: Donor): Promise<{ before: Dump }> {
  const first = await DriverProcess.start(t, dir);
  await first.replica.run({ op: 'elect' });
  await first.replica.run(setup);
  await first.replica.run(sends(1));
  const before = await dump(first.replica);
  await first.replica.crashDuring(point, { op: 'install', file: leader.file, meta: leader.meta, term: before.status.term + 1 });
  return { before };
}
