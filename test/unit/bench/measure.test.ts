// The benchmark's closed-loop measurement (scripts/bench/measure.ts) against a fake system whose
// "member" is a child process burning a known share of CPU, and whose writes burn CPU in this
// process (the client). Figures are only checked for what they must satisfy, never for speed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { closedLoop, percentile } from '../../../scripts/bench/measure.js';
import { cpuMsEach } from '../../../scripts/bench/system.js';

test('percentile: nearest rank over unsorted input; NaN for no samples', () => {
  const values = [9, 1, 5, 3, 7, 2, 8, 4, 10, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 99), 10);
  assert.equal(percentile(values, 10), 1);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('cpuMsEach: one figure per pid, 0 for a process that does not exist', () => {
  const [self, gone] = cpuMsEach([process.pid, 2 ** 22 + 1]);
  assert.ok((self as number) > 0, 'this process has used CPU');
  assert.equal(gone, 0);
});

test('closedLoop: counts every write and splits the CPU between members, the busiest one and the client', async (t) => {
  // A member that spins until killed: it uses CPU whatever the writes do.
  const member = spawn(process.execPath, ['-e', 'console.log("spinning"); for (;;);']);
  t.after(() => member.kill('SIGKILL'));
  await new Promise((resolve) => member.stdout.once('data', resolve));
  let writes = 0;
  const target = {
    write: async () => {
      const start = process.cpuUsage(); // the client's own work: 0.2 ms of CPU per write
      while (process.cpuUsage(start).user < 200);
      await new Promise((resolve) => setImmediate(resolve));
      writes++;
    },
    close: () => undefined,
  };
  const r = await closedLoop(target, 4, 1, 0, [member.pid as number, 2 ** 22 + 1]);
  assert.equal(r.writes, writes, 'every completed write is counted');
  assert.equal(r.errors, 0);
  assert.ok(r.writes > 0 && r.writesPerSecond > 0);
  assert.ok(r.p50Ms <= r.p99Ms);
  assert.ok(r.cpuMsPerWrite > 0, 'the spinning member used CPU');
  assert.equal(r.busiestMemberCpuMsPerWrite, r.cpuMsPerWrite, 'the other "member" does not exist, so the busiest used it all');
  assert.ok(r.clientCpuMsPerWrite >= 0.1, `the client burnt 0.2 ms per write, measured ${r.clientCpuMsPerWrite}`);
});
