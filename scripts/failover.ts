// Failover time of a real five-peer group on this machine: SIGKILL the leader while a client
// writes continuously through another peer, and measure the time from the kill to the commit
// of the first write issued after it. The killed peer is restarted and the group caught up
// before the next trial. Prints p50/p90/max and writes them to docs/failover.json.
//
//   npm run failover -- --trials 20 [--out docs/failover.json] [--interval-ms 10]
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { randomClientId, type ChatClient } from '../main/cli/chat-client.js';
import { TestCluster } from '../test/cluster/harness.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    out: { type: 'string', default: 'docs/failover.json' },
    'interval-ms': { type: 'string', default: '10' },
  },
});
const trials = Number(values.trials);
const intervalMs = Number(values['interval-ms']);
const password = 'failover password';

/**
 * Issues one write every `intervalMs` without waiting for the previous one (a fresh client id
 * each, so that a pile-up during the failover never strains a client session), and notes when
 * each is acknowledged.
 */
class Writer {
  private readonly acks: { issued: number; acked: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly client: ChatClient) {
    this.timer = setInterval(() => this.issue(), intervalMs);
  }

  /** Milliseconds from `since` to the acknowledgement of the first write issued after it. */
  firstCommitAfter(since: number): number | undefined {
    const acked = this.acks.filter((a) => a.issued > since).map((a) => a.acked);
    return acked.length === 0 ? undefined : Math.min(...acked) - since;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  private issue(): void {
    const issued = Date.now();
    const write = this.client.send({ clientId: randomClientId(), seq: 1 }, 'bob', `written at ${issued}`)
      .then(() => void this.acks.push({ issued, acked: Date.now() }), () => undefined);
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }
}

async function trial(cluster: TestCluster, n: number): Promise<number> {
  const leader = await cluster.leader();
  const via = cluster.ids.find((id) => id !== leader.id) as string;
  const { token } = await cluster.client(via).login({ clientId: randomClientId(), seq: 1 }, 'alice', password);
  const writer = new Writer(cluster.client(via, { credentials: { token }, deadlineMs: 15_000 }));
  try {
    await waitUntil(() => writer.firstCommitAfter(Date.now() - 1_000) !== undefined, 'writes to commit before the kill');
    const killedAt = Date.now();
    await cluster.kill(leader.id);
    const ms = await waitUntil(() => writer.firstCommitAfter(killedAt), 'a write to commit after the kill');
    console.log(`trial ${n}: killed leader ${leader.id} (term ${leader.term}); next write committed after ${ms} ms (via ${via})`);
    return ms;
  } finally {
    await writer.stop();
    await cluster.restart(leader.id);
    await cluster.converged();
  }
}

/** Polls `probe` every 5 ms (resolution of the measurement) for up to 30 s. */
async function waitUntil<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  if (!Number.isInteger(trials) || trials < 1) throw new Error('--trials must be a positive integer');
  const cluster = await TestCluster.start();
  const samples: number[] = [];
  try {
    await cluster.client('peer1').register({ clientId: randomClientId(), seq: 1 }, 'alice', password);
    await cluster.client('peer2').register({ clientId: randomClientId(), seq: 1 }, 'bob', password);
    for (let n = 1; n <= trials; n++) samples.push(await trial(cluster, n));
  } finally {
    await cluster.destroy();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const result = {
    what: 'leader SIGKILL → commit of the first write issued after it, 5 peers on loopback',
    trials, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), maxMs: sorted[sorted.length - 1], samplesMs: samples,
    machine: { cpus: cpus().length, node: process.version }, writeIntervalMs: intervalMs, measuredAt: new Date().toISOString(),
  };
  console.log(`failover over ${trials} trials: p50 ${result.p50Ms} ms, p90 ${result.p90Ms} ms, max ${result.maxMs} ms`);
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written to ${values.out}`);
}

await main();
