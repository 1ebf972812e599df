// Makes a WAL-mode database's commits durable by an fdatasync of its WAL file, on libuv's thread
// pool (flush) or on the caller's thread (flushSync). With synchronous=NORMAL a commit writes its
// frames to the WAL without syncing; once they are on disk recovery replays them, which is what
// synchronous=FULL does at every commit, done here later and off the event loop. Checkpoints keep
// their own safety under NORMAL: SQLite syncs the WAL before copying it into the database and the
// database before the WAL is reused, so a commit already checkpointed is durable too.
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from './errors.js';
import { syncDirectory } from './fsync.js';

export class WalSync {
  /** An fd on the WAL, opened at the first flush. */
  private fd: number | null = null;
  private inFlight = 0;
  private closed = false;
  /**
   * The first failed sync. Linux reports a write-back error once per open file, so a later sync
   * on the same fd may succeed though the pages it lost were never written: every later flush
   * fails with it too.
   */
  private failed: StorageError | null = null;

  /** `dbPath`: the database file (its WAL is `${dbPath}-wal`); `what` names it in errors. */
  constructor(readonly dbPath: string, private readonly what: string) {}

  flush(): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const fd = this.wal();
    this.inFlight++;
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.inFlight--;
        if (this.closed && this.inFlight === 0) this.closeFd();
        if (err === null && this.failed === null) resolve();
        else reject(this.failure(err));
      });
    });
  }

  flushSync(): void {
    if (this.failed !== null) throw this.failed;
    try {
      fdatasyncSync(this.wal());
    } catch (err) {
      throw this.failure(err as Error);
    }
  }

  private failure(err: Error | null): StorageError {
    this.failed ??= new StorageError('io', `could not sync ${this.what} to disk: ${err?.message ?? 'an earlier sync failed'}`, { cause: err });
    return this.failed;
  }

  /** Call when the database closes (its WAL goes away); a flush in flight closes the fd when done. */
  close(): void {
    this.closed = true;
    if (this.inFlight === 0) this.closeFd();
  }

  /** The WAL exists from the first write on and SQLite keeps it (same inode) until the last close. */
  private wal(): number {
    if (this.fd === null) {
      if (this.closed) throw new StorageError('misuse', `${this.dbPath} is closed`);
      this.fd = openSync(`${this.dbPath}-wal`, 'r+'); // r+: Windows flushes only writable handles
      syncDirectory(dirname(this.dbPath)); // the WAL's directory entry, once
    }
    return this.fd;
  }

  private closeFd(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
