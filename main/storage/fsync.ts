// fsync helpers for files SQLite does not manage (snapshot files and the directory entries of
// renames): a rename is only durable once the directory itself is synced.
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';

export function fsyncPath(path: string, flags: 'r' | 'r+' = 'r'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Atomically replaces `to` with the already-synced `from`, and makes the rename durable. */
export function durableRename(from: string, to: string, dir: string): void {
  renameSync(from, to);
  fsyncPath(dir);
}

/** Removes a file if present (missing is fine: the crash may have happened before it existed). */
export function removeIfPresent(path: string): void {
  rmSync(path, { force: true });
}
