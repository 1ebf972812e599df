// Start-up cost of one data directory, without a group: `tsx scripts/bench/startup-probe.ts
// build DIR N` stores N direct messages through the chat state machine (one node, big batches,
// one snapshot 5,000 entries before the end, so the log holds a tail as a peer's does); `tsx scripts/bench/startup-probe.ts open DIR`
// times each step of a peer's start on it (open + checks, load, the core, the first queries) and
// prints the peak RSS. For profiling the start-up target without a five-peer run.
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { encodeCommand } from '../../main/chat/commands.js';
import { ChatMachine } from '../../main/chat/machine.js';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { ChatQueries } from '../../main/chat/queries.js';
import { RaftNode } from '../../main/raft/node.js';
import { defaultConfig, EntryType, type Entry } from '../../main/raft/types.js';
import { Storage } from '../../main/storage/storage.js';

const [mode, dir, countText] = process.argv.slice(2);
if (dir === undefined || (mode !== 'build' && mode !== 'open')) {
  console.error('usage: startup-probe.ts build DIR N | open DIR');
  process.exit(2);
}

function rssMb(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

if (mode === 'build') {
  const count = Number(countText ?? 1_000_000);
  const storage = Storage.open(dir, { stateSchema: chatSchema, snapshotEvery: 0 });
  storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
  const chat = new ChatMachine(storage.stateDb);
  let index = chat.applied().index;
  const at = Date.now();
  const entry = (data: Uint8Array): Entry => ({ term: 1, index: ++index, type: EntryType.Normal, data });
  const setup = [
    entry(encodeCommand({ c: 'setup', s: 1, at, t: 'createAccount', username: 'alice', hash: 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })),
    entry(encodeCommand({ c: 'setup', s: 2, at, t: 'createAccount', username: 'bob', hash: 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })),
  ];
  storage.save({ term: 1, vote: 'n1', commit: index }, setup);
  chat.applyBatch(setup);
  const text = 'x'.repeat(100);
  for (let done = 0; done < count; done += 4096) {
    const batch: Entry[] = [];
    for (let i = 0; i < Math.min(4096, count - done); i++) {
      batch.push(entry(encodeCommand({ c: `load-${i % 64}`, s: Math.floor((done + i) / 64) + 1, at, t: 'sendDirect', actor: 1, to: 2, text })));
    }
    storage.save({ term: 1, vote: 'n1', commit: index }, batch);
    chat.applyBatch(batch);
    if (done < count - 5_000 && done + 4096 >= count - 5_000) storage.compactLog();
  }
  storage.close();
  console.log(`stored ${count} messages in ${dir}`);
} else {
  const t0 = performance.now();
  const lap = (what: string, from: number) => console.log(`${what}: ${Math.round(performance.now() - from)} ms`);
  const storage = Storage.open(dir, { stateSchema: chatSchema, stateCheck: 'deferred' });
  lap('Storage.open (raft.db check, recovery; chat.db check deferred as a peer does)', t0);
  const checked = storage.checkState().then(() => lap('chat.db check in its worker, done at', t0));
  let t = performance.now();
  const initial = storage.load();
  lap(`load (${initial.entries.length} log entries)`, t);
  t = performance.now();
  const node = new RaftNode({ ...defaultConfig, id: 'n1', random: Math.random }, initial);
  const chat = new ChatMachine(storage.stateDb);
  const queries = new ChatQueries(storage.stateDb);
  lap('core + state machine', t);
  t = performance.now();
  queries.unread(2);
  lap('first query (unread of bob)', t);
  lap(`total (applied ${chat.applied().index}, commit ${node.status().commit})`, t0);
  await checked;
  console.log(`peak RSS ${rssMb()} MB`);
  storage.close();
}
