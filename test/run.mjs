#!/usr/bin/env node
// The one test command (`npm test`): type-check, lint, then every *.test.ts under test/
// with Node's own test runner. Extra arguments are passed to `node --test`
// (e.g. `npm test -- --test-name-pattern=election`).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(label, cmd, args) {
  console.log(`\n> ${label}`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [relative(root, path)] : [];
  }).sort();
}

run('typecheck', bin('tsc'), ['--noEmit', '-p', '.']);
run('typecheck renderer', bin('tsc'), ['--noEmit', '-p', 'renderer']);
run('lint', bin('eslint'), ['.']);
run('build ui', bin('vite'), ['build', '--logLevel', 'warn']);
run('tests', process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec',
  ...process.argv.slice(2), ...testFiles(join(root, 'test')),
]);
