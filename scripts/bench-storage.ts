// Storage-only figures for docs/storage.md: how many entries per second one node can make
// durable (append + hard state, one transaction, one blocking fsync of raft.db's WAL) and apply
// (one chat.db transaction per batch, not fsynced), for batches of 1, 16 and 256 entries of
// 100 bytes. Not a test: run `npm run bench:storage`.
//   --seconds N   time per measurement (default 2)
//   --runs N      measurements per row; the median (by entries/s) is shown (default 3)
//   --dir PATH    where to put the data directories (default: the OS temp dir; must be a real
//                 disk, not tmpfs, or fsync costs nothing)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeCommand } from '../main/chat/commands.js';
import { ChatMachine } from '../main/chat/machine.js';
import { chatSchema } from '../main/chat/migrations/index.js';
import { EntryType, type Entry } from '../main/raft/types.js';
import { Storage } from '../main/storage/storage.js';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '2' }, runs: { type: 'string', default: '3' }, dir: { type: 'string', default: tmpdir() },
} });
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const batchSizes = [1, 16, 256];

interface Result { batch: number; entriesPerSec: number; batchesPerSec: number; p50: number; p99: number }

function withStorage<T>(fn: (storage: Storage) => T): T {
  const dir = mkdtempSync(join(values.dir, 'quorum-bench-'));
  const storage = Storage.open(dir, { stateSchema: chatSchema });
  try {
    return fn(storage);
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `step(firstIndex)` for `batch` entries at a time until the time is up. */
function measure(batch: number, step: (first: number) => void): Result {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let next = 1;
  for (let now = performance.now(); now < end; ) {
    step(next);
    next += batch;
    const after = performance.now();
    latencies.push(after - now);
    now = after;
  }
  const total = latencies.reduce((a, b) => a + b, 0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { batch, entriesPerSec: (next - 1) / total, batchesPerSec: latencies.length / total, p50: at(0.5), p99: at(0.99) };
}

function entries(first: number, count: number, data: (i: number) => Uint8Array): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: first + i, term: 1, type: EntryType.Normal, data: data(first + i) }));
}

const payload = Buffer.alloc(100, 'x');

/** raft.db: entries + hard state in one transaction, fsynced. */
function appendBench(batch: number): Result {
  return withStorage((storage) => measure(batch, (first) => {
    storage.save({ term: 1, vote: 'n1', commit: first + batch - 1 }, entries(first, batch, () => payload));
  }));
}

/** chat.db: a batch of direct messages applied in one transaction (with the applied index; synchronous=NORMAL). */
function applyBench(batch: number, alsoAppend: boolean): Result {
  return withStorage((storage) => {
    const chat = new ChatMachine(storage.stateDb);
    const setup = ['alice', 'bob'].map((username, i) => encodeCommand({
      c: 'bench', s: i + 1, at: 0, t: 'createAccount', username, hash: `scrypt$1024$8$1$${'A'.repeat(22)}==$${'B'.repeat(43)}=`,
    }));
    const prefix = entries(1, 2, (i) => setup[i - 1] as Uint8Array);
    storage.save(null, prefix);
    chat.applyBatch(prefix);
    // ~100-byte commands: the JSON envelope plus a short text.
    const command = (i: number) => encodeCommand({ c: 'bench', s: i, at: 1_700_000_000_000, t: 'sendDirect', actor: 1, to: 2, text: `message ${i} `.padEnd(24, '.') });
    return measure(batch, (first) => {
      const batchEntries = entries(first + 2, batch, command);
      if (alsoAppend) storage.save({ term: 1, vote: 'n1', commit: first + batch + 1 }, batchEntries);
      chat.applyBatch(batchEntries);
    });
  });
}

/** fsync latency on a shared VM disk varies a lot from second to second: take the median run. */
function median(bench: () => Result): Result {
  const results = Array.from({ length: runs }, bench).sort((a, b) => a.entriesPerSec - b.entriesPerSec);
  return results[Math.floor(results.length / 2)] as Result;
}

function table(title: string, rows: Result[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  return [`${title}`, '', '| batch | entries/s | batches/s | p50 ms | p99 ms |', '| ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.batch} | ${fmt(r.entriesPerSec)} | ${fmt(r.batchesPerSec)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`), ''].join('\n');
}

console.log(`bench-storage: median of ${runs} × ${seconds} s per row, data under ${values.dir}, Node ${process.version}\n`);
console.log(table('Append (raft.db: entries + hard state, one transaction, one fsync per batch)',
  batchSizes.map((b) => median(() => appendBench(b)))));
console.log(table('Apply (chat.db: direct messages + applied index, one transaction per batch, not fsynced)',
  batchSizes.map((b) => median(() => applyBench(b, false)))));
console.log(table('Append then apply (a single-node Ready: one fsync per batch)',
  batchSizes.map((b) => median(() => applyBench(b, true)))));
