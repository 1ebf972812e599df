// One node's data directory: raft.db (identity, hard state, snapshot metadata, log), the
// state-machine database (chat.db) and snapshots/. Open it, load() the core's InitialState,
// save() every Ready, apply into stateDb, and take or install snapshots. Layout and guarantees:
// docs/storage.md.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfState, Entry, HardState, InitialState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { AppliedIndex } from './applied.js';
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
}

export const defaultSnapshotEvery = 10_000;
const emptyConf: ConfState = { voters: [], learners: [] };
const noData = new Uint8Array(0);

export class Storage {
  private state: Db;
  private applied: AppliedIndex;
  private readonly statePath: string;
  private readonly snapshotEvery: number;

  private constructor(
    readonly dir: string,
    private readonly raft: RaftStore,
    private readonly files: SnapshotFiles,
    private readonly options: StorageOptions,
  ) {
    this.statePath = join(dir, options.stateFile ?? 'chat.db');
    this.snapshotEvery = options.snapshotEvery ?? defaultSnapshotEvery;
    removeIfPresent(`${this.statePath}.partial`);
    this.state = openDatabase(this.statePath, options.stateSchema);
    this.applied = new AppliedIndex(this.state);
  }

  /** Opens (creating if needed) a data directory and finishes whatever a crash interrupted. */
  static open(dir: string, options: StorageOptions): Storage {
    mkdirSync(dir, { recursive: true });
    const raft = new RaftStore(openDatabase(join(dir, 'raft.db'), raftSchema));
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
    // Entries are persisted (with the commit index) before they are applied, so this only
    // repairs a commit index older than a snapshot installed just before a crash.
    const commit = Math.max(hardState.commit, snapIndex, applied);
    return {
      hardState: { ...hardState, commit },
      snapshot: stored === null ? null : { meta: stored.meta, data: noData },
      conf: this.raft.identity()?.founders ?? emptyConf,
      entries: this.raft.entriesAfter(snapIndex),
      applied,
    };
  }

  /** Persists a Ready's hard state and entries (one transaction, one fsync). */
  save(hardState: HardState | null, entries: readonly Entry[]): void {
    this.raft.save(hardState, entries);
  }

  /**
   * Automatic compaction: a snapshot once snapshotEvery entries were applied since the last.
   * Call after advance(); on a result, tell the core node.compact(meta.index, empty).
   */
  maybeSnapshot(): SnapshotMeta | null {
    return this.snapshotDue() ? this.createSnapshot() : null;
  }

  snapshotDue(): boolean {
    if (this.snapshotEvery <= 0) return false;
    return this.applied.get().index - (this.raft.snapshot()?.meta.index ?? 0) >= this.snapshotEvery;
  }

  /**
   * Snapshots the state database at its applied index, then compacts the log up to it.
   * Returns the new snapshot's metadata (null if nothing was applied since the last one);
   * the caller then tells the core: node.compact(meta.index, empty).
   */
  createSnapshot(): SnapshotMeta | null {
    const at = this.applied.get();
    const previous = this.raft.snapshot();
    if (at.index === 0 || at.index <= (previous?.meta.index ?? 0)) return null;
    const meta: SnapshotMeta = { index: at.index, term: at.term, conf: this.raft.confAt(at.index) };
    const file = this.files.create(this.state, meta);
    this.raft.recordSnapshot({ meta, file }, false);
    if (previous !== null) this.files.remove(previous.file);
    crashPoint('snapshot-write:after');
    return meta;
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
    crashPoint('snapshot-install:recorded');
    this.replaceState(file);
    if (previous !== null && previous.file !== file) this.files.remove(previous.file);
    crashPoint('snapshot-install:after');
  }

  close(): void {
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
    this.state.close(); // checkpoints and removes the WAL; a leftover WAL must never meet the new file
    removeIfPresent(`${this.statePath}-wal`);
    removeIfPresent(`${this.statePath}-shm`);
    durableRename(partial, this.statePath, this.dir);
    this.state = openDatabase(this.statePath, this.options.stateSchema);
    this.applied = new AppliedIndex(this.state);
  }
}
