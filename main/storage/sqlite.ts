// Opening one of our SQLite files: durability pragmas, "is this really ours?" checks and the
// versioned migrations. A damaged, foreign or newer file stops the start with a StorageError;
// nothing is ever reset silently.
import Database from 'better-sqlite3';
import { StorageError, isCorruption } from './errors.js';

export type Db = Database.Database;

/** One schema version: the SQL that takes the previous version to `version`. */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

/** A kind of database file: its SQLite application_id and its migrations, versions 1..n in order. */
export interface Schema {
  /** For messages: "raft log", "chat state". */
  readonly name: string;
  readonly applicationId: number;
  readonly migrations: readonly Migration[];
}

export interface OpenOptions {
  readonly readonly?: boolean;
  /** Run PRAGMA quick_check (reads every page; cost grows with the file). Default true. */
  readonly check?: boolean;
  /**
   * FULL (default): every commit fsyncs the WAL, so a committed transaction survives power loss.
   * NORMAL: commits are not fsynced (checkpoints still are): a power loss may roll back the last
   * transactions, never leave the file inconsistent. Only for a database whose contents can be
   * rebuilt from a durable source: the state database, re-applied from the raft log.
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /**
   * Hold the file locked from open to close (locking_mode EXCLUSIVE), for a database only this
   * connection ever uses (raft.db): a second opener, such as another peer started on the same
   * data directory, fails at once with StorageError('in-use'). Transactions then take no file
   * locks, and the WAL index lives in memory instead of a shared -shm file.
   */
  readonly exclusive?: boolean;
}

/** Opens (creating if new) a database of `schema` at `path`, migrated to the latest version. */
export function openDatabase(path: string, schema: Schema, options: OpenOptions = {}): Db {
  assertMigrationsInOrder(schema);
  const readonly = options.readonly === true;
  let db: Db;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, ...(options.exclusive === true ? { timeout: 0 } : {}) });
  } catch (err) {
    throw describe(err, path, schema);
  }
  try {
    // Before the first read: only then does SQLite keep the WAL index off shared memory.
    if (options.exclusive === true) db.pragma('locking_mode = EXCLUSIVE');
    const version = checkOwnership(db, path, schema);
    if (!readonly) setDurability(db, options.synchronous ?? 'FULL');
    if (options.check !== false) quickCheck(db, path, schema);
    if (!readonly) migrate(db, schema, version);
    return db;
  } catch (err) {
    db.close();
    throw describe(err, path, schema);
  }
}

export function latestVersion(schema: Schema): number {
  return schema.migrations.length;
}

function assertMigrationsInOrder(schema: Schema): void {
  schema.migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new StorageError('misuse', `${schema.name} migrations must be versions 1..n in order`);
  });
}

/** Returns the file's schema version (0 for a brand-new, empty file). */
function checkOwnership(db: Db, path: string, schema: Schema): number {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
  if (appId === 0 && version === 0 && objects === 0) return 0;
  if (appId !== schema.applicationId) {
    throw new StorageError('foreign', `${path} is not a Quorum Chat ${schema.name} database ` +
      `(application_id ${hex(appId)}, expected ${hex(schema.applicationId)}); refusing to touch it`);
  }
  if (version > latestVersion(schema)) {
    throw new StorageError('too-new', `${path} has ${schema.name} schema version ${version}, ` +
      `this build knows up to ${latestVersion(schema)}: it was written by a newer Quorum Chat; upgrade instead`);
  }
  return version;
}

function setDurability(db: Db, synchronous: 'FULL' | 'NORMAL'): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new StorageError('misuse', `cannot switch ${db.name} to WAL (got ${String(mode)})`);
  // FULL: in WAL mode every commit fsyncs the WAL, so a committed transaction survives power loss.
  // NORMAL: the WAL is fsynced only before each checkpoint (see OpenOptions.synchronous).
  db.pragma(`synchronous = ${synchronous}`);
  // Savepoint journals in memory: the state database applies each command in a savepoint inside
  // a transaction that stays open across batches (Storage.applyInOpenTransaction), and past
  // 64 KiB SQLite would spill that journal to a temp file, one extra write per page touched.
  db.pragma('temp_store = MEMORY');
}

function quickCheck(db: Db, path: string, schema: Schema): void {
  const result = db.pragma('quick_check', { simple: true });
  if (result !== 'ok') throw new StorageError('corrupt', `${path} (${schema.name}) failed its integrity check: ${String(result)}`);
}

function migrate(db: Db, schema: Schema, from: number): void {
  for (const m of schema.migrations.slice(from)) {
    db.transaction(() => {
      db.exec(m.sql);
      // Header fields are written through the pager, so they commit (or not) with the DDL above.
      if (m.version === 1) db.pragma(`application_id = ${schema.applicationId}`);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

function describe(err: unknown, path: string, schema: Schema): Error {
  if (err instanceof StorageError) return err;
  if ((err as { code?: unknown } | null)?.code === 'SQLITE_BUSY') {
    return new StorageError('in-use', `${path} is in use by another process (is a peer already running on this data directory?)`, { cause: err });
  }
  if (isCorruption(err)) {
    return new StorageError('corrupt', `${path} is not a readable ${schema.name} database ` +
      `(${(err as Error).message}); it is left untouched: restore it or move it away`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
