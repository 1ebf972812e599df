// Child process of the crash tests: one single-node replica (Storage + RaftNode + ChatMachine)
// on the data directory given as argv[2] (argv[3]: snapshot every N entries), driven by JSON lines on stdin. It answers with JSON
// lines on stdout and prints an acknowledgement only after the state it reports is durable.
// The test arms a crash point ({"op":"arm"}) or sets QUORUM_CHAT_CRASH_AT and watches it die.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encodeCommand } from '../../main/chat/commands.js';
import { ChatMachine, type AppliedCommand } from '../../main/chat/machine.js';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { prepareCommand, type ChatRequest } from '../../main/chat/prepare.js';
import { RaftNode } from '../../main/raft/node.js';
import { defaultConfig, MessageType, type Message, type Snapshot } from '../../main/raft/types.js';
import { setCrashTarget } from '../../main/storage/crash.js';
import { canonicalHash } from '../../main/storage/hash.js';
import { Storage } from '../../main/storage/storage.js';
import { seededRandom } from '../helpers/chat-workload.js';

export interface ProposeOp { op: 'propose'; client: string; requests: { seq: number; request: ChatRequest }[] }
export type DriverOp =
  | { op: 'elect' }
  | ProposeOp
  | { op: 'vote'; term: number; from: string }
  | { op: 'snapshot' }
  | { op: 'install'; file: string; meta: Snapshot['meta']; term: number }
  | { op: 'dump' }
  | { op: 'arm'; at: string }
  /** Like the peer: applies stay in the open chat.db transaction until 'commit' (or exit). */
  | { op: 'hold' }
  | { op: 'commit' }
  /** SIGKILL now (whatever is held uncommitted is lost). */
  | { op: 'kill' }
  | { op: 'exit' };

const conf = { voters: ['n1'], learners: [] };
const dir = process.argv[2] as string;
const storage = Storage.open(dir, { stateSchema: chatSchema, snapshotEvery: Number(process.argv[3] ?? 0) });
storage.bootstrap({ nodeId: 'n1', founders: conf });
const node = new RaftNode({ ...defaultConfig, id: 'n1', random: seededRandom(1), checkQuorum: false }, storage.load());
let chat = new ChatMachine(storage.stateDb);
let holding = false;

function print(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** The Ready loop, in the order the core requires: persist, send, apply, advance. */
function drain(): void {
  while (node.hasReady()) {
    const rd = node.ready();
    if (rd.snapshot !== null) {
      storage.installSnapshot(rd.snapshot);
      chat = new ChatMachine(storage.stateDb);
    }
    storage.save(rd.hardState, rd.entries);
    for (const m of rd.messages) send(m);
    const applyBatch = () => chat.applyBatch(rd.committed); // its own transaction, unless one is held open
    for (const a of holding ? storage.applyInOpenTransaction(applyBatch) : applyBatch()) acknowledge(a);
    node.advance(rd);
    compact(storage.maybeCompactLog());
  }
}

/** After a snapshot (taken by the test or automatically), the core drops the entries it covers. */
function compact(meta: Snapshot['meta'] | null): void {
  if (meta === null) return;
  node.compact(meta.index, new Uint8Array(0));
  print({ snapshot: meta });
}

/** Every applied command, whichever operation applied it (a restart re-applies the committed tail). */
function acknowledge(a: AppliedCommand): void {
  print({ ack: { client: a.clientId, seq: a.seq, index: a.index, result: a.result, duplicate: a.duplicate } });
}

/** "Sending" is telling the test: these messages could only leave after the state they reflect was durable. */
function send(m: Message): void {
  if (m.type === MessageType.VoteResp) print({ vote: { term: m.term, to: m.to, granted: !m.reject } });
}

function status(): object {
  const s = node.status();
  return {
    term: s.term, vote: s.vote, role: s.role, commit: s.commit, applied: chat.applied().index,
    lastIndex: s.lastIndex, snapshotIndex: s.snapshotIndex, snapshotFiles: readdirSync(join(dir, 'snapshots')),
  };
}

async function propose(op: ProposeOp): Promise<void> {
  const data = [];
  for (const { seq, request } of op.requests) {
    const command = await prepareCommand(request, { clientId: op.client, seq }, { scrypt: { N: 1 << 10, r: 8, p: 1 } });
    data.push(encodeCommand(command));
  }
  node.proposeBatch(data);
  drain();
}

function install(op: Extract<DriverOp, { op: 'install' }>): void {
  const snapshot: Snapshot = { meta: op.meta, data: readFileSync(op.file) };
  node.step({
    type: MessageType.Snap, from: 'donor', to: 'n1', term: op.term, logTerm: 0, index: 0, commit: 0,
    entries: [], reject: false, rejectHint: 0, context: '', snapshot,
  });
  drain();
  print({ installed: status() });
}

function vote(op: Extract<DriverOp, { op: 'vote' }>): void {
  node.step({
    type: MessageType.Vote, from: op.from, to: 'n1', term: op.term, logTerm: op.term, index: Number.MAX_SAFE_INTEGER,
    commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null,
  });
  drain();
}

function dump(): void {
  const db = storage.stateDb;
  const messages = db.prepare('SELECT id, body FROM messages ORDER BY id').all();
  print({ dump: { hash: canonicalHash(db), messages, status: status() } });
}

async function handle(op: DriverOp): Promise<void> {
  switch (op.op) {
    // Applies the committed tail first: the core does not campaign over an unapplied conf change
    // (after a power cut chat.db may be back before the founders' entry; a peer's next tick retries).
    case 'elect': drain(); node.campaign(); drain(); print({ elected: status() }); break;
    case 'propose': await propose(op); break;
    case 'vote': vote(op); break;
    case 'snapshot': compact(storage.compactLog()); break;
    case 'install': install(op); break;
    case 'dump': dump(); break;
    case 'arm': setCrashTarget(op.at); break;
    case 'hold': holding = true; break;
    case 'commit': storage.commitState(); break;
    case 'kill': process.kill(process.pid, 'SIGKILL'); break;
    case 'exit': storage.close(); process.exit(0);
  }
  print({ done: op.op });
}

print({ loaded: status() });
for await (const text of createInterface({ input: process.stdin })) await handle(JSON.parse(text) as DriverOp);
