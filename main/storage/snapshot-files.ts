// Snapshot files: copies of the state database made for a follower (SQLite's backup API, at whatever
// applied index the copy holds), read and received in chunks (the transport streams them),
// verified before use. Every file is written under a ".partial" name, then renamed: a name
// without ".partial" always denotes a complete file. A received file is fsynced before its
// rename (it becomes our state); a copy to send is not (it is made again after a restart).
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMeta } from '../raft/types.js';
import { AppliedIndex } from './applied.js';
import { StorageError } from './errors.js';
import { durableRename, fsyncPath, mkdirDurably, removeIfPresent } from './fsync.js';
import { openDatabase, type Db, type Schema } from './sqlite.js';

export const defaultChunkBytes = 1 << 20;

/** The integrity check of a whole file: "ok", or what is wrong with it (the storage worker's quickCheck). */
export type IntegrityCheck = (path: string) => Promise<string>;

export class SnapshotFiles {
  /** Numbers this process's receptions: two of the same snapshot at once must not share a file. */
  private receptions = 0;

  constructor(readonly dir: string, private readonly stateSchema: Schema, private readonly integrityCheck: IntegrityCheck) {
    mkdirDurably(dir); // a recorded snapshot file lives here: its name must survive a power cut
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  /** Gives a copy made for sending (a worker's backup) its name; returns the name. */
  adoptCopy(partial: string, meta: SnapshotMeta): string {
    const file = `copy-${meta.term}-${meta.index}.db`;
    renameSync(partial, this.path(file));
    return file;
  }

  /**
   * Opens the file for reading in chunks. Opened now, so that the file may be replaced (removed)
   * while it streams. Closed when the chunks end, or by close(), whichever comes first;
   * `onClose` runs then, once.
   */
  async open(file: string, chunkBytes = defaultChunkBytes, onClose: () => void = () => {}): Promise<FileStream> {
    const handle = await open(this.path(file), 'r');
    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => {
      if (closing === null) {
        onClose();
        closing = handle.close();
      }
      return closing;
    };
    return { chunks: chunksOf(handle, chunkBytes, close), close };
  }

  /** Starts receiving a snapshot in chunks; finish() verifies it and makes it installable. */
  receiver(meta: SnapshotMeta): SnapshotReceiver {
    const partial = this.partial(meta);
    return new SnapshotReceiver(this, meta, partial, open(partial, 'w'));
  }

  /** Receives a snapshot that arrived whole (in a Snap message's data; small: checked on this thread). */
  writeReceived(meta: SnapshotMeta, data: Uint8Array): string {
    const partial = this.partial(meta);
    writeFileSync(partial, data);
    fsyncPath(partial, 'r+'); // r+: Windows flushes only writable handles
    return this.accept(meta, partial, () => this.verify(partial, meta, true));
  }

  /**
   * Verifies a fully written and synced partial reception and gives it its received name. The
   * integrity check, which reads every page (0.41–0.43 s for 192 MB from the page cache), runs in the
   * storage worker: a follower catching up keeps answering heartbeats meanwhile.
   */
  async acceptPartial(meta: SnapshotMeta, partial: string): Promise<string> {
    let problem: string;
    try {
      problem = await this.integrityCheck(partial);
    } catch (err) {
      removeIfPresent(partial);
      throw err;
    }
    return this.accept(meta, partial, () => {
      if (problem !== 'ok') throw new StorageError('bad-snapshot', `snapshot ${partial} is unusable: ${problem}`);
      this.verify(partial, meta, false);
    });
  }

  private accept(meta: SnapshotMeta, partial: string, verify: () => void): string {
    try {
      verify();
    } catch (err) {
      removeIfPresent(partial);
      throw err;
    }
    const file = receivedName(meta);
    durableRename(partial, this.path(file), this.dir);
    return file;
  }

  /**
   * A new file name for one reception of `meta`. A leader that resends (its link to us dropped
   * while we still wrote) may overlap the first reception; with one shared name the two wrote
   * into one file, and the first one's abort removed the second one's file.
   */
  private partial(meta: SnapshotMeta): string {
    return this.path(`${receivedName(meta)}.${++this.receptions}.partial`);
  }

  hasReceived(meta: SnapshotMeta): boolean {
    return readdirSync(this.dir).includes(receivedName(meta));
  }

  /** Renames a verified received file to the snapshot name for `meta`; returns that name. */
  adoptReceived(meta: SnapshotMeta): string {
    const file = snapshotName(meta);
    durableRename(this.path(receivedName(meta)), this.path(file), this.dir);
    return file;
  }

  /** Checks that `path` is our state database (sound, with `quickCheck`) at exactly meta's index and term. */
  private verify(path: string, meta: SnapshotMeta, quickCheck: boolean): void {
    let db: Db;
    try {
      db = openDatabase(path, this.stateSchema, { readonly: true, check: quickCheck });
    } catch (err) {
      throw new StorageError('bad-snapshot', `snapshot ${path} is unusable: ${(err as Error).message}`, { cause: err });
    }
    try {
      const at = new AppliedIndex(db).get();
      if (at.index !== meta.index || at.term !== meta.term) {
        throw new StorageError('bad-snapshot', `snapshot ${path} holds state at ${at.index}/${at.term}, ` +
          `expected ${meta.index}/${meta.term}`);
      }
    } finally {
      db.close();
    }
  }

  remove(file: string): void {
    removeIfPresent(this.path(file));
  }

  /** remove() of a file nothing depends on: where it cannot go yet (open on Windows), start-up removes it. */
  discard(file: string): void {
    try {
      this.remove(file);
    } catch {
      // removeAllBut() at the next start
    }
  }

  /**
   * Removes complete receptions at or below `index`: the core installs a snapshot only above its
   * commit index, so once we hold state at `index` they can never be installed.
   */
  removeReceivedUpTo(index: number): void {
    for (const name of readdirSync(this.dir)) {
      const received = /^received-\d+-(\d+)\.db$/.exec(name);
      if (received !== null && Number(received[1]) <= index) this.discard(name);
    }
  }

  /** At start: removes every file except `keep` (partials, stale receptions, old snapshots). */
  removeAllBut(keep: string | null): void {
    for (const name of readdirSync(this.dir)) {
      if (name !== keep) removeIfPresent(this.path(name));
    }
  }
}

/**
 * Shaped like the transport's SnapshotWriter: chunks arrive in order. Writes and the final fsync
 * run on libuv's thread pool: for a large chat.db they took about 0.65 s of the event loop
 * (writeSync 494 ms and fsync 157 ms for 208 MB), in which the follower answered nothing.
 */
export class SnapshotReceiver {
  private handle: Promise<FileHandle> | null;

  constructor(
    private readonly files: SnapshotFiles, readonly meta: SnapshotMeta, private readonly partial: string,
    handle: Promise<FileHandle>,
  ) {
    handle.catch(() => undefined); // reported by the first write, finish or abort
    this.handle = handle;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const handle = await this.open();
    for (let at = 0; at < chunk.length; ) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
  }

  /** Makes the file durable and verifies it; installSnapshot(meta) then finds it. */
  async finish(): Promise<void> {
    const handle = await this.open();
    this.handle = null;
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.files.acceptPartial(this.meta, this.partial);
  }

  /** Closes the file (once the write in progress, if any, is done) and removes it. */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.then((h) => h.close(), () => undefined);
    removeIfPresent(this.partial);
  }

  private open(): Promise<FileHandle> {
    if (this.handle === null) throw new StorageError('misuse', 'snapshot receiver already closed');
    return this.handle;
  }
}

/** A file being read in chunks; close() ends it early (and is what the end of the chunks calls). */
export interface FileStream {
  readonly chunks: AsyncIterable<Buffer>;
  close(): Promise<void>;
}

async function* chunksOf(handle: FileHandle, chunkBytes: number, close: () => Promise<void>): AsyncGenerator<Buffer> {
  try {
    for (let position = 0; ; ) {
      const buffer = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await close();
  }
}

function snapshotName(meta: SnapshotMeta): string {
  return `snapshot-${meta.term}-${meta.index}.db`;
}

function receivedName(meta: SnapshotMeta): string {
  return `received-${meta.term}-${meta.index}.db`;
}
