// `npm run bench`: Quorum Chat against etcd on this machine, one after the other, same group
// size (5), same durability (fsync on), same 100-byte writes. See scripts/README.md.
//
//   npm run bench -- [--seconds 10] [--failover-trials 10] [--out docs/bench/latest.json]
//                    [--catchup N]            (a follower N messages behind: time to catch up)
//                    [--startup-messages N]   (N more messages stored, all peers restarted: time to serve, peak RSS;
//                                             with --catchup, the catch-up is then measured again on that store)
//                    [--cpu-prof DIR]         (a CPU profile of every Quorum Chat peer, DIR/<pid>.cpuprofile)
//                    [--senders 1,16,64,256]  (the load levels; a full run needs all four)
//                    [--retain-log N]         (every peer keeps N log entries below its snapshot; 0: a follower
//                                             behind the snapshot gets a copy of chat.db, to measure that path)
//                    [--quorum-only]          (skip etcd: Quorum Chat's figures only, printed, no file written;
//                                             --failover-trials 0 then skips failover, e.g. for a profile)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { wholeNumber } from '../../main/cli/output.js';
import { EtcdCluster, ensureEtcd } from './etcd.js';
import { closedLoop, failover, type FailoverResult, type LoadResult } from './measure.js';
import { QuorumGroup } from './quorum.js';
import { machine, notMeasured, ratios, table, type Results } from './report.js';
import type { BenchSystem } from './system.js';

const allSenderLevels = [1, 16, 64, 256];
const fullSeconds = 10;
const fullTrials = 10;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: String(fullSeconds) },
    'failover-trials': { type: 'string', default: String(fullTrials) },
    out: { type: 'string', default: 'docs/bench/latest.json' },
    catchup: { type: 'string' },
    'startup-messages': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'quorum-only': { type: 'boolean', default: false },
    senders: { type: 'string' },
    'retain-log': { type: 'string' },
  },
});
const seconds = positive(values.seconds, '--seconds');
const senderLevels = values.senders === undefined ? allSenderLevels : values.senders.split(',').map((n) => positive(n, '--senders'));
const trials = values['failover-trials'] === '0' && values['quorum-only'] ? 0 : positive(values['failover-trials'], '--failover-trials');
const catchupMessages = values.catchup === undefined ? null : positive(values.catchup, '--catchup');
const retainLog = values['retain-log'] === undefined ? undefined : wholeNumberFlag(values['retain-log'], '--retain-log');
const startupMessages = values['startup-messages'] === undefined ? null : positive(values['startup-messages'], '--startup-messages');
// Enough to open connections and warm the JIT without eating into a short development run.
const warmupSeconds = Math.min(2, seconds / 2);
const settleSeconds = Math.min(5, seconds);
const log = (line: string) => console.log(line);

/** The system running now, so that a failure or Ctrl-C stops it before we exit. */
let running: BenchSystem | null = null;

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number`);
  return n;
}

function wholeNumberFlag(text: string, flag: string): number {
  try {
    return wholeNumber(text);
  } catch (err) {
    throw new Error(`${flag}: ${(err as Error).message}`, { cause: err });
  }
}

type Start<S> = (size: number, track: (s: BenchSystem) => void) => Promise<S>;

/** Starts a 5-member system, runs `fn` on it and always destroys it (start() cleans up its own failures). */
async function withSystem<S extends BenchSystem, T>(start: Start<S>, fn: (s: S) => Promise<T>): Promise<T> {
  const system = await start(5, (s) => { running = s; });
  try {
    return await fn(system);
  } finally {
    running = null;
    await system.destroy();
  }
}

async function loadLevels(system: BenchSystem, via: 'leader' | 'follower'): Promise<LoadResult[]> {
  const leader = await system.leader();
  const id = via === 'leader' ? leader : system.memberIds.find((m) => m !== leader) as string;
  const target = await system.target(id);
  try {
    // A freshly started system is still settling (Quorum Chat: modules compiled on first use,
    // the JIT, autopilot's last rounds; etcd: its first compactions): the first level's figures
    // were several times worse than the same level measured again. Both systems get this.
    await closedLoop(target, senderLevels[0] as number, settleSeconds, 0);
    const results: LoadResult[] = [];
    for (const senders of senderLevels) {
      const r = await closedLoop(target, senders, seconds, warmupSeconds, await system.pids());
      log(`${system.name} via ${via} (${id}), ${senders} senders: ${r.writesPerSecond} writes/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ` +
        `${r.cpuMsPerWrite} ms CPU/write (all members; busiest ${r.busiestMemberCpuMsPerWrite}, client ${r.clientCpuMsPerWrite}), ${r.errors} errors`);
      results.push(r);
    }
    return results;
  } finally {
    target.close();
  }
}

async function benchEtcd(): Promise<{ leader: LoadResult[]; failover: FailoverResult }> {
  log('starting a 5-member etcd cluster');
  return withSystem(EtcdCluster.start, async (etcd) => ({
    leader: await loadLevels(etcd, 'leader'),
    failover: await failover(etcd, trials, log),
  }));
}

async function benchQuorum(): Promise<Results['quorumChat']> {
  log('starting a 5-peer Quorum Chat group');
  const profileDir = values['cpu-prof'] ?? null;
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
  return withSystem((size, track) => QuorumGroup.start(size, track, { profileDir, retainLog }), async (quorum) => ({
    leader: await loadLevels(quorum, 'leader'),
    follower: await loadLevels(quorum, 'follower'),
    failover: trials === 0 ? { samplesMs: [], p50Ms: Number.NaN, maxMs: Number.NaN } : await failover(quorum, trials, log),
    catchup: catchupMessages === null ? notMeasured : await catchup(quorum, catchupMessages),
    startup: startupMessages === null ? notMeasured : await startup(quorum, startupMessages),
    // A small store is caught up by a copy of chat.db, a large one by the entries raft.db keeps
    // (Storage.compactedLog): measured on both.
    catchupOnStartupStore: catchupMessages === null || startupMessages === null ? notMeasured : await catchup(quorum, catchupMessages, 'on the start-up store'),
  }));
}

async function catchup(quorum: QuorumGroup, messages: number, where = ''): Promise<{ messages: number; ms: number }> {
  const ms = await quorum.catchup(messages);
  log(`quorum-chat catch-up${where === '' ? '' : ` ${where}`}: a follower ${messages} messages behind applied them all ${ms} ms after its restart`);
  return { messages, ms };
}

async function startup(quorum: QuorumGroup, messages: number): Promise<Exclude<Results['quorumChat']['startup'], string>> {
  const r = await quorum.startup(messages);
  log(`quorum-chat start-up with ${messages} more messages: slowest peer serving ${r.startMs} ms after its start (all five at once: ${r.allAtOnceMs} ms), peak RSS ${r.peakRssMb} MB`);
  return r;
}

async function main(): Promise<void> {
  if (values['quorum-only']) {
    console.log(JSON.stringify(await benchQuorum(), null, 2));
    return;
  }
  const etcdVersion = ensureEtcd(log);
  const etcd = await benchEtcd();
  const quorumChat = await benchQuorum();
  const results: Results = {
    smoke: seconds < fullSeconds || trials < fullTrials || values.senders !== undefined,
    measuredAt: new Date().toISOString(),
    machine: machine(etcdVersion),
    settings: { members: 5, payloadBytes: 100, seconds, warmupSeconds, settleSeconds, failoverTrials: trials },
    etcd, quorumChat, ratios: ratios(etcd, quorumChat),
  };
  console.log(`\n${table(results)}\n`);
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`written to ${values.out}${results.smoke ? ' (marked "smoke": a short run, not for the README)' : ''}`);
}

/**
 * Ctrl-C or SIGTERM: stop whatever runs (kill all members, remove data), then exit. A Ctrl-C
 * reaches us twice (from the terminal and relayed by tsx), so later signals are ignored rather
 * than left to the default action, which would kill us before the clean-up is done.
 */
let stopping = false;
function onSignal(): void {
  if (stopping) return;
  stopping = true;
  log('interrupted: stopping everything the benchmark started');
  void (running?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
}
