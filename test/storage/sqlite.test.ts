import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { raftSchema } from '../../main/storage/migrations/index.js';
import { openDatabase, type Schema } from '../../main/storage/sqlite.js';
import { Storage } from '../../main/storage/storage.js';
import { tempDir } from '../helpers/temp-dir.js';

const v1: Schema = { name: 'test', applicationId: 0x7e57, migrations: [{ version: 1, sql: 'CREATE TABLE t (x INTEGER);' }] };
const v2: Schema = { ...v1, migrations: [...v1.migrations, { version: 2, sql: 'ALTER TABLE t ADD COLUMN y TEXT;' }] };

describe('opening a database', () => {
  test('a new file gets our application id, the latest version, WAL and synchronous=FULL', (t) => {
    const db = openDatabase(join(tempDir(t), 'raft.db'), raftSchema);
    t.after(() => db.close());
    assert.deepEqual(
      [db.pragma('application_id', { simple: true }), db.pragma('user_version', { simple: true }),
        db.pragma('journal_mode', { simple: true }), db.pragma('synchronous', { simple: true })],
      [raftSchema.applicationId, raftSchema.migrations.length, 'wal', 2]);
  });

  test('migrations run once, in order, keeping the data', (t) => {
    const path = join(tempDir(t), 'x.db');
    const first = openDatabase(path, v1);
    first.prepare('INSERT INTO t (x) VALUES (7)').run();
    first.close();
    const second = openDatabase(path, v2);
    assert.deepEqual(second.prepare('SELECT x, y FROM t').all(), [{ x: 7, y: null }]);
    assert.equal(second.pragma('user_version', { simple: true }), 2);
    second.close();
    const third = openDatabase(path, v2); // nothing left to run: ALTER TABLE twice would throw
    third.close();
  });

  test('a failing migration leaves the previous version intact', (t) => {
    const path = join(tempDir(t), 'x.db');
    openDatabase(path, v1).close();
    const broken: Schema = { ...v1, migrations: [...v1.migrations, { version: 2, sql: 'ALTER TABLE t ADD COLUMN y TEXT; SELECT * FROM missing;' }] };
    assert.throws(() => openDatabase(path, broken), /no such table: missing/);
    const db = new Database(path);
    t.after(() => db.close());
    assert.deepEqual([db.pragma('user_version', { simple: true }), db.prepare('SELECT * FROM t').columns().length], [1, 1]);
  });

  test('raft.db v1 to v2 keeps the snapshot row and lets a compaction record no file', (t) => {
    const path = join(tempDir(t), 'raft.db');
    const old = openDatabase(path, { ...raftSchema, migrations: raftSchema.migrations.slice(0, 1) });
    old.prepare("INSERT INTO snapshot (id, idx, term, conf, file) VALUES (1, 40, 2, '{}', 'snapshot-2-40.db')").run();
    assert.throws(() => old.prepare("UPDATE snapshot SET file = NULL").run(), /NOT NULL/);
    old.close();
    const db = openDatabase(path, raftSchema);
    t.after(() => db.close());
    assert.deepEqual(db.prepare('SELECT idx, term, conf, file FROM snapshot').all(), [{ idx: 40, term: 2, conf: '{}', file: 'snapshot-2-40.db' }]);
    db.prepare('UPDATE snapshot SET file = NULL').run();
    assert.equal(db.prepare('SELECT file FROM snapshot').pluck().get(), null);
  });

  test('migrations must be numbered 1..n', () => {
    const gap: Schema = { ...v1, migrations: [{ version: 2, sql: '' }] };
    assert.throws(() => openDatabase(':memory:', gap), { code: 'misuse' });
  });
});

describe('refusing what is not ours, untouched', () => {
  function refuses(path: string, schema: Schema, code: string, message: RegExp): void {
    const before = readFileSync(path);
    assert.throws(() => openDatabase(path, schema), (err: Error & { code?: string }) => {
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.ok(err.message.includes(path), 'the message names the file');
      return true;
    });
    assert.deepEqual(readFileSync(path), before, 'the file is left as it was');
  }

  test('a file that is not a database', (t) => {
    const path = join(tempDir(t), 'raft.db');
    writeFileSync(path, 'these are not the pages you are looking for'.repeat(200));
    refuses(path, raftSchema, 'corrupt', /not a readable raft log database/);
  });

  test('a truncated database', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const db = openDatabase(path, chatSchema);
    const insert = db.prepare("INSERT INTO accounts (username, username_key, password_hash, created_at) VALUES (?, ?, 'h', 0)");
    db.transaction(() => { for (let i = 0; i < 3000; i++) insert.run(`u${i}`, `u${i}`); })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    writeFileSync(path, readFileSync(path).subarray(0, 40_960));
    refuses(path, chatSchema, 'corrupt', /chat state/);
  });

  test('another application\'s database', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const other = new Database(path);
    other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)');
    other.close();
    refuses(path, chatSchema, 'foreign', /not a Quorum Chat chat state database/);
  });

  test('our other kind of database (chat.db where raft.db belongs)', (t) => {
    const path = join(tempDir(t), 'chat.db');
    openDatabase(path, chatSchema).close();
    refuses(path, raftSchema, 'foreign', /application_id 0x51434854, expected 0x51435246/);
  });

  test('a database from a newer build', (t) => {
    const path = join(tempDir(t), 'raft.db');
    const db = openDatabase(path, raftSchema);
    db.pragma('user_version = 99');
    db.close();
    refuses(path, raftSchema, 'too-new', /schema version 99, this build knows up to 2/);
  });

  test('Storage.open reports a damaged raft.db instead of starting afresh', (t) => {
    const dir = tempDir(t);
    Storage.open(dir, { stateSchema: chatSchema }).close();
    writeFileSync(join(dir, 'raft.db'), Buffer.alloc(8192, 0x42));
    assert.throws(() => Storage.open(dir, { stateSchema: chatSchema }), { code: 'corrupt' });
  });

  test('a data directory in use is refused at once, by this process and by another', (t) => {
    const dir = tempDir(t);
    const first = Storage.open(dir, { stateSchema: chatSchema });
    try {
      first.save({ term: 3, vote: 'n1', commit: 0 }, []);
      assert.throws(() => Storage.open(dir, { stateSchema: chatSchema }), { code: 'in-use', message: /raft\.db is in use by another process/ });
      // Another process reading raft.db (a second peer on the same directory) is locked out too.
      const probe = spawnSync(process.execPath, ['-e', `
        const db = new (require('better-sqlite3'))(process.argv[1], { timeout: 0 });
        try { db.prepare('SELECT term FROM hard_state').get(); console.log('read'); } catch (e) { console.log(e.code); }`, join(dir, 'raft.db')], { encoding: 'utf8' });
      assert.equal(probe.stdout.trim(), 'SQLITE_BUSY');
    } finally {
      first.close();
    }
    const again = Storage.open(dir, { stateSchema: chatSchema }); // closed: free again
    assert.equal(again.load().hardState.term, 3);
    again.close();
  });
});
