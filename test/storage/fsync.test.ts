import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mkdirDurably, syncDirectory, writeFileDurably } from '../../main/storage/fsync.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('durable files outside SQLite', () => {
  test('writeFileDurably replaces the file whole, with its mode, and leaves no temporary file', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'peer.json');
    writeFileSync(path, 'old');
    writeFileSync(`${path}.tmp`, 'left by a crash', { mode: 0o644 });
    writeFileDurably(path, 'new', 0o600);
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(statSync(path).mode & 0o777, 0o600, 'the mode, though a temporary file with another one was there');
    assert.deepEqual(readdirSync(dir), ['peer.json']);
  });

  test('mkdirDurably makes every missing level, and an existing directory is fine', (t) => {
    const dir = join(tempDir(t), 'a', 'b', 'c');
    mkdirDurably(dir);
    mkdirDurably(dir);
    assert.ok(statSync(dir).isDirectory());
  });

  test('syncDirectory syncs the directory, except on Windows (which has no fsync of one)', (t) => {
    const missing = join(tempDir(t), 'missing');
    assert.throws(() => syncDirectory(missing, 'linux'), { code: 'ENOENT' });
    assert.doesNotThrow(() => syncDirectory(missing, 'win32'));
  });
});
