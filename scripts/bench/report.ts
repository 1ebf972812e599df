// The results document (docs/bench/latest.json) and the table printed from it.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { FailoverResult, LoadResult } from './measure.js';

export const notMeasured = 'not measured';

export interface CatchupResult {
  readonly messages: number;
  readonly ms: number;
}

export interface Results {
  readonly smoke: boolean;
  readonly measuredAt: string;
  readonly machine: Record<string, string | number>;
  readonly settings: Record<string, number>;
  readonly etcd: { readonly leader: LoadResult[]; readonly failover: FailoverResult };
  readonly quorumChat: {
    readonly leader: LoadResult[];
    readonly follower: LoadResult[];
    readonly failover: FailoverResult;
    readonly catchup: CatchupResult | string;
    /** The same once the start-up measurement has stored its messages (a larger chat.db to copy). */
    readonly catchupOnStartupStore?: CatchupResult | string;
    readonly startup: { readonly messages: number; readonly startMs: number; readonly allAtOnceMs: number; readonly peakRssMb: number } | string;
  };
  readonly ratios: Record<string, number>;
}

export function machine(etcdVersion: string): Record<string, string | number> {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout ?? '';
  return {
    cpuModel: cpus()[0]?.model ?? /Model name:\s*(.+)/.exec(lscpu)?.[1] ?? 'unknown',
    cores: cpus().length,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    etcd: etcdVersion,
  };
}

/** Quorum Chat (through its leader) divided by etcd: >1 is better for throughput, <1 for latency and failover. */
export function ratios(etcd: Results['etcd'], quorum: Results['quorumChat']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of etcd.leader) {
    const q = atSenders(quorum.leader, e.senders);
    if (q === undefined) continue;
    out[`throughput_${e.senders}`] = ratio(q.writesPerSecond, e.writesPerSecond);
    out[`p50_${e.senders}`] = ratio(q.p50Ms, e.p50Ms);
    out[`p99_${e.senders}`] = ratio(q.p99Ms, e.p99Ms);
  }
  out.failover_p50 = ratio(quorum.failover.p50Ms, etcd.failover.p50Ms);
  out.failover_max = ratio(quorum.failover.maxMs, etcd.failover.maxMs);
  return out;
}

/**
 * CPU per write, through each system's leader: what the members used together and the busiest
 * of them alone, and what the load generator (this process) used. On a shared machine the sum
 * of the first and last bounds the throughput; on a machine per member, the busiest member.
 */
function cpuTable(r: Results): string[] {
  const cell = (l: LoadResult | undefined) => (l === undefined ? '-' : `${l.cpuMsPerWrite} / ${l.busiestMemberCpuMsPerWrite} / ${l.clientCpuMsPerWrite}`);
  const rows = [['senders', 'etcd CPU ms/write', 'Quorum Chat CPU ms/write']];
  for (const e of r.etcd.leader) rows.push([String(e.senders), cell(e), cell(atSenders(r.quorumChat.leader, e.senders))]);
  const lines = aligned(rows);
  lines.splice(1, 0, '(all members / busiest member / client, through the leader)');
  return lines;
}

/** The result of the level with `senders` senders, if that level was measured. */
function atSenders(list: readonly LoadResult[], senders: number): LoadResult | undefined {
  return list.find((r) => r.senders === senders);
}

function aligned(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows.map((row) => row.map((v, c) => v.padEnd(widths[c] ?? 0)).join('  ').trimEnd());
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

export function table(r: Results): string {
  const cell = (l: LoadResult | undefined) => (l === undefined ? '-' : `${l.writesPerSecond} w/s ${l.p50Ms}/${l.p99Ms} ms`);
  const rows = [['senders', 'etcd (leader)', 'Quorum Chat (leader)', 'Quorum Chat (follower)', 'ratio w/s']];
  for (const e of r.etcd.leader) {
    const at = (list: LoadResult[]) => atSenders(list, e.senders);
    rows.push([String(e.senders), cell(e), cell(at(r.quorumChat.leader)), cell(at(r.quorumChat.follower)),
      String(r.ratios[`throughput_${e.senders}`] ?? '-')]);
  }
  const fo = (f: FailoverResult) => `p50 ${f.p50Ms} ms, max ${f.maxMs} ms`;
  rows.push(['failover', fo(r.etcd.failover), fo(r.quorumChat.failover), '', String(r.ratios.failover_p50)]);
  const lines = aligned(rows);
  lines.splice(1, 0, '(load cells: writes/s p50/p99 latency; ratio = Quorum Chat leader / etcd)');
  lines.push('', ...cpuTable(r));
  // Below the table, not in a column: their text is far wider than the load cells.
  const catchup = (c: CatchupResult | string) => (typeof c === 'string' ? c : `${c.messages} messages behind, served ${c.ms} ms after the restart`);
  lines.push(`Quorum Chat catch-up: ${catchup(r.quorumChat.catchup)}`);
  const st = r.quorumChat.startup;
  lines.push(`Quorum Chat start-up/RSS: ${typeof st === 'string' ? st : `+${st.messages} messages: a peer serves ${st.startMs} ms after its start (all 5 at once: ${st.allAtOnceMs} ms), peak RSS ${st.peakRssMb} MB`}`);
  lines.push(`Quorum Chat catch-up on the start-up store: ${catchup(r.quorumChat.catchupOnStartupStore ?? notMeasured)}`);
  return lines.join('\n');
}
