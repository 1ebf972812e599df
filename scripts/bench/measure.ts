// The two measurements shared by both systems: closed-loop throughput/latency and failover time.
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '../../test/helpers/wait.js';
import { cpuMsEach, type BenchSystem, type WriteTarget } from './system.js';

export interface LoadResult {
  readonly senders: number;
  readonly writes: number;
  readonly errors: number;
  readonly writesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time all members used per write while measuring (user + system, ms). */
  readonly cpuMsPerWrite: number;
  /** The same for the busiest member alone (on a machine per member, its core is the limit). */
  readonly busiestMemberCpuMsPerWrite: number;
  /**
   * The same for the load generator (this process: the senders' gRPC client), which shares the
   * machine's cores with the members and so bounds what they can reach.
   */
  readonly clientCpuMsPerWrite: number;
}

export interface FailoverResult {
  readonly samplesMs: number[];
  readonly p50Ms: number;
  readonly maxMs: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * `senders` loops, each sending its next write as soon as the previous one committed, for
 * `seconds`. Latencies of the warm-up (connection set-up, JIT, first elections of
 * timers) are discarded by running the same loop for `warmupSeconds` first.
 */
export async function closedLoop(target: WriteTarget, senders: number, seconds: number, warmupSeconds: number, pids: readonly number[] = []): Promise<LoadResult> {
  await runSenders(target, senders, warmupSeconds * 1000);
  const started = performance.now();
  const membersBefore = cpuMsEach(pids);
  const clientBefore = process.cpuUsage();
  const { latencies, errors } = await runSenders(target, senders, seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const members = cpuMsEach(pids).map((ms, i) => ms - (membersBefore[i] as number));
  const perWrite = (ms: number) => (latencies.length === 0 ? Number.NaN : Math.round((ms / latencies.length) * 1000) / 1000);
  return {
    senders, writes: latencies.length, errors, writesPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)),
    cpuMsPerWrite: perWrite(members.reduce((a, b) => a + b, 0)),
    busiestMemberCpuMsPerWrite: perWrite(Math.max(0, ...members)),
    clientCpuMsPerWrite: perWrite((client.user + client.system) / 1000),
  };
}

async function runSenders(target: WriteTarget, senders: number, ms: number): Promise<{ latencies: number[]; errors: number }> {
  const deadline = performance.now() + ms;
  const latencies: number[] = [];
  let errors = 0;
  const loop = async (sender: number) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await target.write(sender);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
        // A failed stream rejects at once: without a pause this loop would be all microtasks
        // and starve the event loop (timers, I/O, even a Ctrl-C handler).
        await delay(10);
      }
    }
  };
  await Promise.all(Array.from({ length: senders }, (_, i) => loop(i)));
  return { latencies, errors };
}

/** Exactly `count` writes over `senders` closed loops (errors abort: this fills a log, it measures nothing). */
export async function sendCount(target: WriteTarget, senders: number, count: number): Promise<void> {
  let left = count;
  const loop = async (sender: number) => {
    while (left > 0) {
      left--;
      await target.write(sender);
    }
  };
  await Promise.all(Array.from({ length: senders }, (_, i) => loop(i)));
}

/**
 * SIGKILLs the leader while a writer issues one write every 10 ms through another member
 * (without waiting for the previous one, so the first write after the new election is not
 * stuck behind one lost with the old leader), and times kill → ack of the first write issued
 * after the kill. The killed member is restarted between trials.
 */
export async function failover(system: BenchSystem, trials: number, log: (line: string) => void): Promise<FailoverResult> {
  const samplesMs: number[] = [];
  for (let n = 1; n <= trials; n++) {
    const leader = await system.leader();
    const via = system.memberIds.find((id) => id !== leader) as string;
    const target = await system.target(via);
    try {
      const ms = await timeKill(system, leader, target);
      log(`${system.name} failover trial ${n}: killed ${leader}, next write committed after ${ms} ms (via ${via})`);
      samplesMs.push(ms);
    } finally {
      target.close();
      await system.restart(leader);
    }
  }
  return { samplesMs, p50Ms: percentile(samplesMs, 50), maxMs: Math.max(...samplesMs) };
}

async function timeKill(system: BenchSystem, leader: string, target: WriteTarget): Promise<number> {
  const acks: { issued: number; acked: number }[] = [];
  let sender = 0;
  const timer = setInterval(() => {
    const issued = Date.now();
    target.write(sender++).then(() => void acks.push({ issued, acked: Date.now() }), () => undefined);
  }, 10);
  try {
    await waitFor(() => acks.length > 0, `${system.name} writes to commit before the kill`, { timeoutMs: 30_000 });
    const killedAt = Date.now();
    await system.kill(leader);
    const firstAck = () => {
      const after = acks.filter((a) => a.issued > killedAt).map((a) => a.acked);
      return after.length === 0 ? undefined : Math.min(...after) - killedAt;
    };
    return await waitFor(firstAck, `${system.name} to commit a write after the kill`, { timeoutMs: 30_000, intervalMs: 5 });
  } finally {
    clearInterval(timer);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
