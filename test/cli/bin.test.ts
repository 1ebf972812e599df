// bin/quorum-chat.js runs dist/cli/index.js (the bundle npm ci builds) while it is newer than
// every source under main/ and common/, else the TypeScript sources through tsx. Both must be
// the same program.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
// @ts-expect-error: a plain JavaScript build script, without type declarations
import { buildCliBundle, cliBundle, cliIsStale } from '../../scripts/build-app.mjs';

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));
const run = promisify(execFile);

test('cliIsStale: a missing bundle or one older than a source is stale; a newer one is not', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qc-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'index.js');
  assert.equal(cliIsStale(bundle), true, 'missing');
  writeFileSync(bundle, '');
  const hourAhead = new Date(Date.now() + 3_600_000);
  utimesSync(bundle, hourAhead, hourAhead);
  assert.equal(cliIsStale(bundle), false, 'newer than every source');
  utimesSync(bundle, new Date(0), new Date(0));
  assert.equal(cliIsStale(bundle), true, 'older than the sources');
});

test('the bundled command and the sources answer alike', async () => {
  if (cliIsStale()) await buildCliBundle();
  const bundled = await run(process.execPath, [bin, '--version']);
  const fromSources = await run(process.execPath, [bin, '--version'], { env: { ...process.env, QC_FROM_SOURCES: '1' } });
  assert.match(bundled.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(bundled.stdout, fromSources.stdout);
  // The bundle itself, whichever form bin/ chose above.
  const direct = `import(${JSON.stringify(pathToFileURL(cliBundle as string).href)}).then((m) => m.main([process.execPath, 'quorum-chat', '--version']))`;
  const bundleAlone = await run(process.execPath, ['--input-type=module', '-e', direct]);
  assert.equal(bundleAlone.stdout, fromSources.stdout);
  const refusal = await run(process.execPath, [bin, 'no-such-command']).then(() => null, (err: { code: number; stderr: string }) => err);
  assert.ok(refusal !== null && refusal.code !== 0, 'an unknown command fails');
  assert.match(refusal.stderr, /no-such-command|unknown command/i);
});
