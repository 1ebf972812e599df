// One node's data directory: raft.db (identity, hard state, how far the log is compacted, the
// log), the state-machine database (chat.db) and snapshots/. Open it, load() the core's
// InitialState, save() every Ready, apply into stateDb, compact the log, copy the state for a
// follower that needs a snapshot, install one. Layout and guarantees: docs/storage.md.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CompactedLog, ConfState, Entry, HardState, InitialState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { AppliedIndex, type AppliedPosition } from './applied.js';
import { copyInWorker, quickCheckInWorker, StorageWorker } from './workers.js';
import { crashPoint } from './crash.js';
import { StorageError } from './errors.js';
import { durableRename, mkdirDurably, removeIfPresent, syncDirectory } from './fsync.js';
import { raftSchema } from './migrations/index.js';
import { RaftStore, type Identity, type StoredSnapshot } from './raft-store.js';
import { SnapshotFiles, type FileStream, type SnapshotReceiver } from './snapshot-files.js';
import { openDatabase, type Db, type Schema } from './sqlite.js';
import { WalSync } from './wal-sync.js';

export interface StorageOptions {
  /** The state machine's schema (its first migration includes appliedTableSql). */
  readonly stateSchema: Schema;
  /** File name of the state database in the data directory. Default "chat.db". */
  readonly stateFile?: string;
  /** compactionDue() once this many entries were applied since the last compaction (the peer's --snapshot-every); 0: never. */
  readonly snapshotEvery?: number;
  /** Log entries kept in raft.db below the snapshot index, for the core's CompactedLog (defaultRetainedEntries). */
  readonly retainedEntries?: number;
  /** What replaying one entry is worth in bytes of a copy of the state (defaultReplayEntryBytes); 0: replay whatever is kept. */
  readonly replayEntryBytes?: number;
  /**
   * Stretch each interval by a random fraction below this (0, the default: none), drawn anew
   * after every compaction, so that the peers of a group, which apply the same entries at the
   * same moment, do not all sync their state database at once.
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

/**
 * A snapshot to stream to a follower: its metadata and its file's bytes (the transport's shape).
 * close() closes the file; the end of the chunks does too. Call it when the stream ends early.
 */
export interface OutgoingSnapshot extends FileStream {
  readonly meta: SnapshotMeta;
}

/** A file in snapshots/ and the state it holds. */
interface SnapshotFile {
  readonly meta: SnapshotMeta;
  readonly file: string;
}

export const defaultSnapshotEvery = 10_000;
/**
 * Replaying one entry costs a follower about as much as this many bytes of a copy of the state.
 * A follower applies an entry in about 36 µs of its catch-up; a copy costs about 15 ms per MB
 * on loopback (made, streamed, checked: docs/performance.md, Round 15), so an entry is worth
 * 2.4 KB there. On a 1 Gbit/s link the stream is bound by the wire, which overlaps with the
 * encryption and the disk: about 2 ms more per MB (emulated, Round 16), 2.1 KB an entry. On
 * Wi-Fi at 300 Mbit/s the wire alone is 27 ms per MB: about 1.1 KB. 1 KiB suits the slower one.
 */
export const defaultReplayEntryBytes = 1024;
const emptyConf: ConfState = { voters: [], learners: [] };
const noData = new Uint8Array(0);

export class Storage {
  private state: Db;
  /** Syncs the state database's WAL (compaction); a new one whenever the database is replaced. */
  private stateWal: WalSync;
  /** A compaction waiting for the state database's sync (compactInBackground). */
  private compacting: Promise<SnapshotMeta | null> | null = null;
  /** The newest copy a follower can be sent, if any. */
  private outgoing: SnapshotFile | null = null;
  /** A copy of the state database being made for a follower (snapshotToSend). */
  private copying: Promise<void> | null = null;
  /** Copies being made or streamed: automatic compaction waits for them (compactionDue). */
  private sending = 0;
  /** Bumped whenever the state database is replaced: a copy of the old one is then stale. */
  private generation = 0;
  private closed = false;
  /** Set once SQLite rolled back the open apply transaction by itself (noticingRollback). */
  private stateLost: StorageError | null = null;
  private applied: AppliedIndex;
  private readonly statePath: string;
  private readonly snapshotEvery: number;
  /** This interval's stretch (snapshotSpread). */
  private snapshotStretch = 1;

  private constructor(
    readonly dir: string,
    private readonly raft: RaftStore,
    private readonly files: SnapshotFiles,
    private readonly worker: StorageWorker,
    private readonly options: StorageOptions,
  ) {
    this.statePath = join(dir, options.stateFile ?? 'chat.db');
    this.snapshotEvery = options.snapshotEvery ?? defaultSnapshotEvery;
    this.drawSnapshotStretch();
    removeIfPresent(`${this.statePath}.partial`); // left by builds before round 12, which copied snapshots over it
    this.state = this.openState();
    this.stateWal = new WalSync(this.statePath, 'the state database');
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
    mkdirDurably(dir);
    const raft = new RaftStore(openDatabase(join(dir, 'raft.db'), raftSchema, { exclusive: true }), options.retainedEntries);
    let storage: Storage | null = null;
    try {
      const worker = new StorageWorker();
      const files = new SnapshotFiles(join(dir, 'snapshots'), options.stateSchema, (path) => quickCheckInWorker(worker, path));
      files.removeAllBut(raft.snapshot()?.file ?? null);
      storage = new Storage(dir, raft, files, worker, options);
      storage.recover();
      return storage;
    } catch (err) {
      // Both files closed: a refused data directory can be moved aside at once (Windows).
      if (storage === null) raft.close();
      else storage.close();
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

  /**
   * The log entries raft.db keeps below the snapshot index, for the core (InitialState.compacted),
   * as far as sending them beats sending a copy of the state (worthReplaying).
   */
  compactedLog(): CompactedLog {
    return this.raft.compactedLog((index) => this.worthReplaying(index));
  }

  /**
   * Whether a follower whose log ends at `index` should get the entries after it rather than a
   * copy of the state database: while the entries it lacks, at replayEntryBytes each, come to no
   * more than the state's size. A small store is cheaper to copy than 100,000 entries are to
   * apply (CockroachDB, likewise, truncates a range's log once it outgrows the range).
   */
  private worthReplaying(index: number): boolean {
    const perEntry = this.options.replayEntryBytes ?? defaultReplayEntryBytes;
    return perEntry === 0 || (this.raft.lastIndex() - index) * perEntry <= this.stateBytes();
  }

  /** The state database's size (a copy of it holds as many pages, free ones included). */
  private stateBytes(): number {
    return (this.state.pragma('page_count', { simple: true }) as number) * (this.state.pragma('page_size', { simple: true }) as number);
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
    this.checkStateKept();
    if (!this.state.inTransaction) this.state.exec('BEGIN IMMEDIATE');
    return this.noticingRollback(apply);
  }

  /** Commits the batches applied since the last commit (nothing to do without any). */
  commitState(): void {
    this.checkStateKept();
    if (this.state.inTransaction) this.noticingRollback(() => this.state.exec('COMMIT'));
  }

  /**
   * Runs `fn` (a batch, or the commit) in the open transaction. SQLite rolls the whole open
   * transaction back by itself on some errors (SQLITE_FULL, I/O errors), not only the batch that
   * failed: every batch applied since the last commit is gone from chat.db, while the state
   * machine's position in memory still counts them. Applying on would skip them for good (seen
   * with a full disk: a follower applied and committed entries over such a gap). So once the
   * transaction is gone after a failure, nothing more is applied or committed on this handle;
   * the next start applies those entries again from the log, which has them durably.
   */
  private noticingRollback<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!this.state.inTransaction) {
        this.stateLost ??= new StorageError('io', `${this.statePath} rolled back its open transaction ` +
          `(${(err as Error).message}): the entries applied since its last commit are applied again from the log at the next start`);
      }
      throw err;
    }
  }

  private checkStateKept(): void {
    if (this.stateLost !== null) throw this.stateLost;
  }

  /**
   * Automatic compaction once snapshotEvery entries were applied since the last (blocking).
   * Call after advance(); on a result, tell the core node.compact(meta.index, empty).
   */
  maybeCompactLog(): SnapshotMeta | null {
    return this.compactionDue() ? this.compactLog() : null;
  }

  /** `applied`: the state database's applied index, when the caller already holds it (saves a read). */
  compactionDue(applied = this.applied.get().index): boolean {
    // Not while a copy is made or streamed: a compaction past it would leave the follower that
    // installs it behind the log again (a 192 MB copy takes seconds; at 64 senders 10,000
    // entries are applied in about three).
    if (this.snapshotEvery <= 0 || this.sending > 0) return false;
    const since = (applied - this.compactedTo()) / this.snapshotStretch;
    return since >= this.snapshotEvery;
  }

  private drawSnapshotStretch(): void {
    this.snapshotStretch = 1 + Math.random() * (this.options.snapshotSpread ?? 0);
  }

  /**
   * Compacts the log up to the state database's applied index, blocking: commits the applied
   * batches, syncs the state database, then records the compaction in raft.db. Returns its
   * metadata (null if nothing was applied since the last); the caller then tells the core:
   * node.compact(meta.index, empty). No copy is made: the state database is the snapshot, and a
   * follower that needs one is sent a copy made then (snapshotToSend).
   */
  compactLog(): SnapshotMeta | null {
    const at = this.commitForCompaction();
    if (at === null) return null;
    this.stateWal.flushSync();
    const previous = this.raft.snapshot();
    const meta = this.recordCompaction(at);
    this.raft.flushSync();
    this.afterCompaction(meta, previous);
    return meta;
  }

  /**
   * maybeCompactLog() without blocking: when a compaction is due and none is under way, commits the
   * applied batches and returns the promise of the compaction, which syncs the state database's
   * WAL off the event loop, records the compaction in raft.db and syncs that too; it resolves
   * with the metadata (then tell the core node.compact(meta.index)), or null if the database
   * was replaced meanwhile (an installed snapshot) or the storage closed. Returns null when
   * nothing is due or a compaction is under way. The same order and crash points as compactLog().
   */
  compactInBackground(applied?: number): Promise<SnapshotMeta | null> | null {
    if (this.compacting !== null || this.closed || !this.compactionDue(applied)) return null;
    const at = this.commitForCompaction();
    if (at === null) return null;
    const generation = this.generation;
    const compacting = this.stateWal.flush().then(async () => {
      if (this.closed || generation !== this.generation || !this.compactsPast(at.index)) return null;
      const previous = this.raft.snapshot();
      const meta = this.recordCompaction(at);
      // A crash before this sync keeps the previous record, and the log with it.
      await this.raft.flush();
      if (!this.closed) this.afterCompaction(meta, previous);
      return meta;
    }, (err: unknown) => {
      if (this.closed) return null; // stopped by close()
      throw err;
    }).finally(() => {
      this.compacting = null;
    });
    this.compacting = compacting;
    return compacting;
  }

  /** Commits the applied batches; the position they reach if the log can be compacted up to it. */
  private commitForCompaction(): AppliedPosition | null {
    this.commitState();
    const at = this.applied.get();
    if (!this.compactsPast(at.index)) return null;
    crashPoint('compact:before');
    return at;
  }

  private compactsPast(index: number): boolean {
    return index > this.compactedTo();
  }

  /** How far the log is compacted (0: not at all). */
  private compactedTo(): number {
    return this.raft.snapshot()?.meta.index ?? 0;
  }

  /** The metadata of the state at `at`: its position and the membership there (from the log). */
  private metaAt(at: AppliedPosition): SnapshotMeta {
    return { index: at.index, term: at.term, conf: this.raft.confAt(at.index) };
  }

  /**
   * Records, not yet durably, that the log is compacted up to `at`. Only once the state database
   * holds `at` on disk: a power cut may roll it back to its last sync, and the entries after
   * that must still be in the log (docs/storage.md, "Why chat.db is not fsynced").
   */
  private recordCompaction(at: AppliedPosition): SnapshotMeta {
    crashPoint('compact:synced');
    const meta = this.metaAt(at);
    this.raft.recordSnapshot({ meta, file: null }, false);
    this.drawSnapshotStretch();
    return meta;
  }

  /** Once the compaction is durable: files it made useless go (a copy it passed, receptions, an older build's snapshot). */
  private afterCompaction(meta: SnapshotMeta, previous: StoredSnapshot | null): void {
    this.dropUnused(previous?.file);
    if (this.outgoing !== null && this.outgoing.meta.index < meta.index) this.setOutgoing(null);
    this.files.removeReceivedUpTo(meta.index);
    crashPoint('compact:after');
  }

  /** Removes a file of snapshots/ unless it is still the copy to send or the one raft.db records. */
  private dropUnused(file: string | null | undefined): void {
    if (file != null && file !== this.outgoing?.file && file !== this.raft.snapshot()?.file) this.files.discard(file);
  }

  /**
   * The snapshot to send a follower whom the core sends `wanted` (how far our log is compacted):
   * a copy of the state database at `wanted`'s index or later, with its own metadata, which is
   * what the follower is told. Made on demand by the worker thread (SQLite's backup API on its own
   * connection, applying goes on meanwhile) and kept for the next follower until a newer copy or
   * a compaction past it replaces it. The file is opened before this resolves, so a newer copy
   * may replace it while it streams. Rejects if the log was compacted past every copy meanwhile
   * (the core offers the snapshot again).
   */
  async snapshotToSend(wanted: SnapshotMeta, chunkBytes?: number): Promise<OutgoingSnapshot> {
    this.sending++; // until the stream closes (its onClose), or now if there is none
    try {
      for (let attempt = 0; attempt < 2 && (this.outgoing?.meta.index ?? 0) < wanted.index; attempt++) {
        this.copying ??= this.copyForSending().finally(() => {
          this.copying = null;
        });
        await this.copying;
      }
      const out = this.outgoing;
      if (out === null || out.meta.index < wanted.index) {
        throw new StorageError('unavailable', `no copy of the state at ${wanted.index} or later to send yet (the log was compacted meanwhile)`);
      }
      return { meta: out.meta, ...await this.files.open(out.file, chunkBytes, () => this.sending--) };
    } catch (err) {
      this.sending--;
      throw err;
    }
  }

  private async copyForSending(): Promise<void> {
    if (this.closed) return;
    const generation = this.generation;
    const partial = this.files.path('copy.db.partial'); // removed at start if a crash leaves it
    removeIfPresent(partial); // a backup would write into whatever is there
    let at: AppliedPosition;
    try {
      at = await copyInWorker(this.worker, this.statePath, partial);
    } catch (err) {
      removeIfPresent(partial);
      if (this.closed) return; // stopped by close()
      throw err;
    }
    // The copy holds the state of one commit; the membership there is known while the log still
    // holds the entries after the compaction point up to it.
    if (this.closed || generation !== this.generation || at.index < this.compactedTo()) {
      removeIfPresent(partial);
      return;
    }
    const meta = this.metaAt(at);
    this.setOutgoing({ meta, file: this.files.adoptCopy(partial, meta) });
  }

  /** Replaces the copy to send; the one it replaces goes. */
  private setOutgoing(next: SnapshotFile | null): void {
    const old = this.outgoing;
    this.outgoing = next;
    this.dropUnused(old?.file);
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
    this.swapIn({ meta, file });
    this.dropUnused(previous?.file);
    this.setOutgoing(null); // a copy of the state we replaced
    this.files.removeReceivedUpTo(meta.index);
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
    this.stateWal.close();
    this.state.close();
    this.raft.close();
  }

  /**
   * A crash between recording an installed snapshot and swapping the state database. A state
   * database behind our own compaction point lost what was synced before the log was compacted
   * (a disk that lies about fsync, or an older copy put in its place): nothing can restore it.
   */
  private recover(): void {
    const stored = this.raft.snapshot();
    const applied = this.applied.get().index;
    if (stored === null || applied >= stored.meta.index) return;
    if (stored.file === null) {
      throw new StorageError('inconsistent', `${this.statePath} has applied up to ${applied}, but raft.db's log was ` +
        `compacted up to ${stored.meta.index} once that state was on disk: the state database lost synced writes ` +
        'or was replaced by an older copy');
    }
    if (!existsSync(this.files.path(stored.file))) {
      throw new StorageError('inconsistent', `raft.db records snapshot ${stored.file} but it is missing from ${this.files.dir}`);
    }
    this.swapIn({ meta: stored.meta, file: stored.file });
  }

  /**
   * The recorded snapshot file becomes the state database, and the record then names no file: the
   * state database holds the snapshot's index durably, as after a compaction.
   */
  private swapIn(recorded: SnapshotFile): void {
    this.replaceState(recorded.file);
    this.raft.recordSnapshot({ meta: recorded.meta, file: null }, false);
    this.raft.flushSync();
  }

  /**
   * Replaces the state database with a snapshot file by renaming it, atomically. The file was
   * synced and checked whole when it was received, so it is neither copied nor checked again:
   * at 192 MB that was 0.6 s on the event loop (copy 50–67 ms, fsync 112–121 ms, quick_check
   * 413–434 ms), after the same check at reception.
   */
  private replaceState(file: string): void {
    this.generation++;
    if (this.state.inTransaction) this.state.exec('ROLLBACK'); // applies the snapshot supersedes
    this.stateLost = null; // the new file is the state now, and the caller makes a new machine for it
    this.stateWal.close();
    this.state.close(); // checkpoints and removes the WAL; a leftover WAL must never meet the new file
    removeIfPresent(`${this.statePath}-wal`);
    removeIfPresent(`${this.statePath}-shm`);
    durableRename(this.files.path(file), this.statePath, this.dir);
    syncDirectory(this.files.dir); // the name it leaves
    this.state = this.openState(false);
    this.stateWal = new WalSync(this.statePath, 'the state database');
    this.applied = new AppliedIndex(this.state);
  }
}
