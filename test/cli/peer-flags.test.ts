// The peer command checks its addresses and numbers before it writes anything to the data directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));
const run = promisify(execFile);

for (const flag of ['--listen', '--client-listen']) {
  test(`a ${flag} that is not host:port is refused with a clear error, and nothing is written`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'qc-flags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const data = join(dir, 'data');
    const args = [bin, 'peer', '--id', 'a', '--create-group', 'x', '--data', data, flag, 'garbage'];
    if (flag !== '--listen') args.push('--listen', '127.0.0.1:0');
    const refusal = await run(process.execPath, args, { timeout: 30_000 }).then(() => null, (err: { code: number; stderr: string }) => err);
    assert.ok(refusal !== null && refusal.code !== 0, 'the command fails');
    assert.match(refusal.stderr.split('\n')[0] ?? '', new RegExp(`${flag}.*'garbage' is invalid\\. expected host:port`));
    assert.equal(existsSync(data), false, 'the data directory was not created');
  });
}

for (const [flag, value] of [['--retain-log', '-1'], ['--retain-log', '1.5'], ['--retain-log', 'many'], ['--replay-entry-bytes', '-1'], ['--replay-entry-bytes', '1k']]) {
  test(`${flag} ${value} is refused with a clear error, and nothing is written`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'qc-flags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const data = join(dir, 'data');
    const args = [bin, 'peer', '--id', 'a', '--create-group', 'x', '--data', data, '--listen', '127.0.0.1:0', `${flag}=${value}`];
    const refusal = await run(process.execPath, args, { timeout: 30_000 }).then(() => null, (err: { code: number; stderr: string }) => err);
    assert.ok(refusal !== null && refusal.code !== 0, 'the command fails');
    assert.match(refusal.stderr.split('\n')[0] ?? '', new RegExp(`${flag}.*is invalid\\. expected a whole number`));
    assert.equal(existsSync(data), false, 'the data directory was not created');
  });
}
