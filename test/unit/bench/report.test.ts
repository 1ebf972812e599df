// The benchmark's printed table (scripts/bench/report.ts): both catch-up figures, and an older
// results document without the second one still prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notMeasured, table, type Results } from '../../../scripts/bench/report.js';

const load = { senders: 1, writes: 10, errors: 0, writesPerSecond: 100, p50Ms: 2, p99Ms: 3, cpuMsPerWrite: 1, busiestMemberCpuMsPerWrite: 0.5, clientCpuMsPerWrite: 0.1 };
const failover = { samplesMs: [300], p50Ms: 300, maxMs: 300 };

function results(quorumChat: Partial<Results['quorumChat']>): Results {
  return {
    smoke: true, measuredAt: '2026-12-06T00:00:00Z', machine: {}, settings: {},
    etcd: { leader: [load], failover },
    quorumChat: { leader: [load], follower: [load], failover, catchup: notMeasured, startup: notMeasured, ...quorumChat },
    ratios: { throughput_1: 1, failover_p50: 1 },
  };
}

test('table: the catch-up on the start-up store has its own line', () => {
  const text = table(results({ catchup: { messages: 100_000, ms: 3_500 }, catchupOnStartupStore: { messages: 100_000, ms: 5_100 } }));
  assert.match(text, /^Quorum Chat catch-up: 100000 messages behind, served 3500 ms after the restart$/m);
  assert.match(text, /^Quorum Chat catch-up on the start-up store: 100000 messages behind, served 5100 ms after the restart$/m);
});

test('table: a results document from before the second catch-up says it was not measured', () => {
  const text = table(results({ catchup: { messages: 100_000, ms: 3_500 } }));
  assert.match(text, /^Quorum Chat catch-up on the start-up store: not measured$/m);
});
