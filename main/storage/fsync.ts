// fsync helpers for files SQLite does not manage (snapshot files, the data directory's JSON files
// and the directory entries of renames): a rename is only durable once the directory itself is
// synced.
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function fsyncPath(path: string, flags: 'r' | 'r+' = 'r'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the names created, renamed or removed in `dir` durable. Not on Windows, which has no
 * fsync of a directory (FlushFileBuffers needs a handle opened for writing, which a directory
 * cannot give) and where NTFS journals its metadata itself.
 */
export function syncDirectory(dir: string, platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'win32') fsyncPath(dir);
}

/** Atomically replaces `to` with the already-synced `from`, and makes the rename durable. */
export function durableRename(from: string, to: string, dir: string): void {
  renameSync(from, to);
  syncDirectory(dir);
}

/**
 * Replaces `path` with `text` so that a crash or a power cut leaves the old file or the new one,
 * whole: a temporary file, synced, renamed over it, and the directory synced. A rename alone is
 * atomic but not durable: after a power cut ext4 may keep the rename and not the data, an empty
 * peer.json (seen in the power-cut test, test/cluster). `mode` also applies to a temporary file
 * a crash left behind.
 */
export function writeFileDurably(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, text); // all of it (one writeSync may write less)
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  durableRename(tmp, path, dirname(path));
}

/** mkdir -p whose new directories survive a power cut: each one's parent is synced. */
export function mkdirDurably(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let created = dir; ; created = dirname(created)) {
    syncDirectory(dirname(created));
    if (created === first) return;
  }
}

/** Removes a file if present (missing is fine: the crash may have happened before it existed). */
export function removeIfPresent(path: string): void {
  rmSync(path, { force: true });
}
