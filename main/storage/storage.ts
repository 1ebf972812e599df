// One node's data directory: raft.db (identity, hard state, snapshot metadata, log), the
// state-machine database (chat.db) and snapshots/. Open it, load() the core's InitialState,
// save() every Ready, apply into stateDb, and take or install snapshots. Layout and guarantees:
// docs/storage.md.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfState, Entry, HardState, InitialState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { AppliedIndex } from './applied.js';
import { quickCheckInWorker, StorageWorker, vacuumIntoInWorker } from './workers.js';
import { crashPoint } from './crash.js';
import { StorageError } from './errors.js';
import { durableRename, fsyncPath, removeIfPresent } from './fsync.js';
import { raftSchema } from './migrations/index.js';
import { RaftStore, type Identity } from './raft-store.js';
import { SnapshotFiles, type SnapshotReceiver } from './snapshot-files.js';
import { openDatabase, type Db, type Schema } from './sqlite.js';

export interface StorageOptions {
  /** The state machine's schema (its first migration includes appliedTableSql). */
  readonly stateSchema: Schema;
  /** File name of the state database in the data directory. Default "chat.db". */
  readonly stateFile?: string;
  /** snapshotDue() once this many entries were applied since the last snapshot; 0: never. */
  readonly snapshotEvery?: number;
  /**
   * Also wait for this many entries per MiB of state database before the next snapshot (0, the
   * default: no such rule). A snapshot copies the whole database, so a fixed interval makes the
   * total cost grow with the square of the history; with this rule it grows linearly (e.g. 500:
   * a 190 MB chat.db of a million messages is snapshotted every 95,000 entries, one of 20 MB
   * every 10,000). The log kept in memory grows accordingly.
   */
  readonly snapshotEntriesPerMb?: number;
  /**
   * Stretch each interval (both rules) by a random fraction below this (0, the default: none),
   * drawn anew after every snapshot. Peers apply the same entries at about the same moment, so
   * with fixed intervals all of them copied their database at once: five copies competing for
   * the cores and the disk stalled the whole group for 30–60 ms every few seconds under load.
   */
  readonly snapshotSpread?: number;
  /**
   * Durability of each state-database commit. NORMAL (default): not fsynced: the log in raft.db
   * (always FULL) is the source of truth, and a state database that lost its last transactions
   * in a power cut is consistent at an older applied index, from which the committed tail is
   * applied again (below the snapshot, recover() restores the snapshot). One fsync per Ready
   * instead of two. FULL: every apply fsynced too. The argument: docs/storage.md.
   */
  readonly stateSynchronous?: 'FULL' | 'NORMAL';
  /**
   * When the state database's integrity check (PRAGMA quick_check, which reads every page) runs:
   * 'at-open' (default) inside open(); 'deferred': open() skips it and the caller runs
   * checkState() once it serves (a peer with a million messages starts in well under a second
   * instead of 2+ s from a cold disk), and stops if it fails. The raft.db check stays in open().
   */
  readonly stateCheck?: 'at-open' | 'deferred';
}

export const defaultSnapshotEvery = 10_000;
const emptyConf: ConfState = { voters: [], learners: [] };
const noData = new Uint8Array(0);

export class Storage {
  private state: Db;
  /** A snapshot being written by a worker (snapshotInBackground). */
  private creating: Promise<SnapshotMeta | null> | null = null;
  /** Bumped whenever the state database is replaced: a copy of the old one is then stale. */
  private generation = 0;
  private closed = false;
  private readonly worker = new StorageWorker();
  private applied: AppliedIndex;
  private readonly statePath: string;
  private readonly snapshotEvery: number;
  /** This interval's stretch (snapshotSpread). */
  private snapshotStretch = 1;

  private constructor(
    readonly dir: string,
    private readonly raft: RaftStore,
    private readonly files: SnapshotFiles,
    private readonly options: StorageOptions,
  ) {
    this.statePath = join(dir, options.stateFile ?? 'chat.db');
    this.snapshotEvery = options.snapshotEvery ?? defaultSnapshotEvery;
    this.drawSnapshotStretch();
    removeIfPresent(`${this.statePath}.partial`);
    this.state = this.openState();
    this.applied = new AppliedIndex(this.state);
  }

  private openState(check = this.options.stateCheck !== 'deferred'): Db {
    return openDatabase(this.statePath, this.options.stateSchema, { synchronous: this.options.stateSynchronous ?? 'NORMAL', check });
  }

  /**
   * The deferred integrity check of the state database (see StorageOptions.stateCheck), in a
   * worker thread. Rejects with StorageError('corrupt') naming the file; the caller must stop.
   */
  async checkState(): Promise<void> {
    let result: string;
    try {
      result = await quickCheckInWorker(this.worker, this.statePath);
    } catch (err) {
      if (this.closed) return; // stopped by close()
      throw err;
    }
    if (result !== 'ok') {
      throw new StorageError('corrupt', `${this.statePath} (${this.options.stateSchema.name}) failed its integrity check: ${result}`);
    }
  }

  /** Opens (creating if needed) a data directory and finishes whatever a crash interrupted. */
  static open(dir: string, options: StorageOptions): Storage {
    mkdirSync(dir, { recursive: true });
    const raft = new RaftStore(openDatabase(join(dir, 'raft.db'), raftSchema, { exclusive: true }));
    try {
      const files = new SnapshotFiles(join(dir, 'snapshots'), options.stateSchema);
      files.removeAllBut(raft.snapshot()?.file ?? null);
      const storage = new Storage(dir, raft, files, options);
      storage.recover();
      return storage;
    } catch (err) {
      raft.close();
      throw err;
    }
  }

  /** The state database. A new handle after installSnapshot(): re-prepare statements then. */
  get stateDb(): Db {
    return this.state;
  }

  identity(): Identity | null {
    return this.raft.identity();
  }

  /** Records this node's id and founding membership (once; the same again is a no-op). */
  bootstrap(identity: Identity): void {
    this.raft.setIdentity(identity);
  }

  /** What the consensus core needs to restart where it stopped. */
  load(): InitialState {
    const hardState = this.raft.hardState();
    const stored = this.raft.snapshot();
    const snapIndex = stored?.meta.index ?? 0;
    const applied = this.applied.get().index;
    if (applied > this.raft.lastIndex()) {
      throw new StorageError('inconsistent', `${this.statePath} has applied up to ${applied} but the log ` +
        `in raft.db ends at ${this.raft.lastIndex()}: the two files do not belong together`);
    }
    // The stored commit index is only as new as the last change of term or vote (RaftStore.write):
    // what chat.db has applied, or a snapshot holds, was committed.
    const commit = Math.max(hardState.commit, snapIndex, applied);
    return {
      hardState: { ...hardState, commit },
      snapshot: stored === null ? null : { meta: stored.meta, data: noData },
      conf: this.raft.identity()?.founders ?? emptyConf,
      entries: this.raft.entriesAfter(snapIndex),
      applied,
    };
  }

  /** Persists a Ready's hard state and entries (one transaction, one fsync), blocking. */
  save(hardState: HardState | null, entries: readonly Entry[]): void {
    this.raft.save(hardState, entries);
  }

  /**
   * Writes a Ready's hard state and entries without waiting for the disk; returns the promise
   * of their durability, or null when nothing needs it (see RaftStore.write and flush).
   */
  write(hardState: HardState | null, entries: readonly Entry[]): Promise<void> | null {
    return this.raft.write(hardState, entries) ? this.raft.flush() : null;
  }

  /**
   * Runs `apply` (a state-machine batch, itself a transaction) inside the state database's open
   * write transaction, opening one if none is: consecutive batches then share one commit, made by
   * commitState() a little later. Until then this connection, and so every read of the peer,
   * sees the applied state; other connections (snapshot and check workers) see the last commit.
   * Nothing is lost by waiting: the entries are in raft.db already, and a state database that
   * missed its last commit holds an older applied index, from which they are applied again
   * (the same argument as for synchronous=NORMAL, docs/storage.md).
   */
  applyInOpenTransaction<T>(apply: () => T): T {
    if (!this.state.inTransaction) this.state.exec('BEGIN IMMEDIATE');
    return apply();
  }

  /** Commits the batches applied since the last commit (nothing to do without any). */
  commitState(): void {
    if (this.state.inTransaction) this.state.exec('COMMIT');
  }

  /**
   * Automatic compaction: a snapshot once snapshotEvery entries were applied since the last.
   * Call after advance(); on a result, tell the core node.compact(meta.index, empty).
   */
  maybeSnapshot(): SnapshotMeta | null {
    return this.snapshotDue() ? this.createSnapshot() : null;
  }

  /** `applied`: the state database's applied index, when the caller already holds it (saves a read). */
  snapshotDue(applied = this.applied.get().index): boolean {
    if (this.snapshotEvery <= 0) return false;
    const since = (applied - (this.raft.snapshot()?.meta.index ?? 0)) / this.snapshotStretch;
    if (since < this.snapshotEvery) return false;
    const perMb = this.options.snapshotEntriesPerMb ?? 0;
    if (perMb <= 0) return true;
    const bytes = (this.state.pragma('page_count', { simple: true }) as number) * (this.state.pragma('page_size', { simple: true }) as number);
    return since >= (bytes / 2 ** 20) * perMb;
  }

  private drawSnapshotStretch(): void {
    this.snapshotStretch = 1 + Math.random() * (this.options.snapshotSpread ?? 0);
  }

  /**
   * Snapshots the state database at its applied index, then compacts the log up to it.
   * Returns the new snapshot's metadata (null if nothing was applied since the last one);
   * the caller then tells the core: node.compact(meta.index, empty).
   */
  createSnapshot(): SnapshotMeta | null {
    this.commitState(); // VACUUM INTO refuses to run inside a transaction
    const at = this.applied.get();
    const previous = this.raft.snapshot();
    if (at.index === 0 || at.index <= (previous?.meta.index ?? 0)) return null;
    const meta: SnapshotMeta = { index: at.index, term: at.term, conf: this.raft.confAt(at.index) };
    const file = this.files.create(this.state, meta);
    this.raft.recordSnapshot({ meta, file }, false);
    this.drawSnapshotStretch();
    this.raft.flushSync();
    if (previous !== null) this.files.remove(previous.file);
    crashPoint('snapshot-write:after');
    return meta;
  }

  /**
   * maybeSnapshot() without blocking: when a snapshot is due and none is being written, a worker
   * thread copies the state database (VACUUM INTO on its own read-only connection, so applying
   * goes on meanwhile) and the returned promise resolves once the copy is recorded, with its
   * metadata: the applied position the copy holds. Then tell the core node.compact(meta.index).
   * Resolves null if the copy became useless meanwhile (a snapshot was installed, or the
   * storage closed). Returns null when nothing is due or a snapshot is already being written.
   * The same files, order and crash points as createSnapshot().
   */
  snapshotInBackground(applied?: number): Promise<SnapshotMeta | null> | null {
    if (this.creating !== null || this.closed || !this.snapshotDue(applied)) return null;
    const generation = this.generation;
    const partial = this.files.path('creating.db.partial'); // removed at start if a crash leaves it
    removeIfPresent(partial); // VACUUM INTO refuses to overwrite
    crashPoint('snapshot-write:before');
    const creating = vacuumIntoInWorker(this.worker, this.statePath, partial).then(async (at) => {
      const previous = this.raft.snapshot();
      if (this.closed || generation !== this.generation || at.index <= (previous?.meta.index ?? 0)) {
        removeIfPresent(partial);
        return null;
      }
      const meta: SnapshotMeta = { index: at.index, term: at.term, conf: this.raft.confAt(at.index) };
      const file = this.files.adoptCreated(partial, meta);
      this.raft.recordSnapshot({ meta, file }, false);
      this.drawSnapshotStretch();
      // Off the event loop, as every Ready's sync; a crash before it keeps the previous record
      // and file (the new file is then removed at start).
      await this.raft.flush();
      if (previous !== null && !this.closed && this.raft.snapshot()?.file !== previous.file) this.files.remove(previous.file);
      crashPoint('snapshot-write:after');
      return meta;
    }, (err: unknown) => {
      removeIfPresent(partial);
      if (this.closed) return null; // stopped by close()
      throw err;
    }).finally(() => {
      this.creating = null;
    });
    this.creating = creating;
    return creating;
  }

  /**
   * The bytes of the snapshot `meta` names, in chunks, for streaming to a follower. Fails if a
   * newer snapshot replaced it meanwhile (the core then sends the newer one).
   */
  readSnapshot(meta: SnapshotMeta, chunkBytes?: number): AsyncIterable<Buffer> {
    const stored = this.raft.snapshot();
    if (stored === null || stored.meta.index !== meta.index || stored.meta.term !== meta.term) {
      throw new StorageError('misuse', `snapshot ${meta.index}/${meta.term} is not the latest ` +
        `(${stored === null ? 'none' : `${stored.meta.index}/${stored.meta.term}`})`);
    }
    return this.files.read(stored.file, chunkBytes);
  }

  /** Receives a snapshot streamed by the leader; installSnapshot() later uses the received file. */
  receiveSnapshot(meta: SnapshotMeta): SnapshotReceiver {
    return this.files.receiver(meta);
  }

  /**
   * Installs a Ready's snapshot: its data if the message carried it, else the file received for
   * it. The state database is replaced (stateDb is a new handle afterwards) and the log emptied.
   */
  installSnapshot(snapshot: Snapshot): void {
    const { meta } = snapshot;
    crashPoint('snapshot-install:before');
    if (snapshot.data.length > 0) this.files.writeReceived(meta, snapshot.data);
    else if (!this.files.hasReceived(meta)) {
      throw new StorageError('misuse', `no received file for the snapshot at ${meta.index}/${meta.term}`);
    }
    const previous = this.raft.snapshot();
    const file = this.files.adoptReceived(meta);
    // Recorded before the state database is swapped: a crash in between is finished by recover().
    this.raft.recordSnapshot({ meta, file }, true);
    this.raft.flushSync();
    crashPoint('snapshot-install:recorded');
    this.replaceState(file);
    if (previous !== null && previous.file !== file) this.files.remove(previous.file);
    crashPoint('snapshot-install:after');
  }

  /** Commits applied batches still open (if that fails they are applied again at the next open). */
  close(): void {
    this.closed = true;
    this.worker.stop();
    try {
      this.commitState();
    } catch {
      // close() rolls the transaction back: the entries stay in raft.db and are re-applied
    }
    this.state.close();
    this.raft.close();
  }

  /** A crash between recording an installed snapshot and swapping the state database. */
  private recover(): void {
    const stored = this.raft.snapshot();
    if (stored === null || this.applied.get().index >= stored.meta.index) return;
    if (!existsSync(this.files.path(stored.file))) {
      throw new StorageError('inconsistent', `raft.db records snapshot ${stored.file} but it is missing from ${this.files.dir}`);
    }
    this.replaceState(stored.file);
  }

  /** Replaces the state database with a copy of a snapshot file, atomically. */
  private replaceState(file: string): void {
    const partial = `${this.statePath}.partial`;
    copyFileSync(this.files.path(file), partial);
    fsyncPath(partial);
    this.generation++;
    if (this.state.inTransaction) this.state.exec('ROLLBACK'); // applies the snapshot supersedes
    this.state.close(); // checkpoints and removes the WAL; a leftover WAL must never meet the new file
    removeIfPresent(`${this.statePath}-wal`);
    removeIfPresent(`${this.statePath}-shm`);
    durableRename(partial, this.statePath, this.dir);
    this.state = this.openState(true); // a fresh copy: checked here, whatever stateCheck says
    this.applied = new AppliedIndex(this.state);
  }
}
