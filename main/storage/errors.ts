// The one error type storage throws for problems with the data on disk, so that the peer can
// tell an operator exactly what is wrong instead of silently starting from scratch.

export type StorageErrorCode =
  /** The file is not a SQLite database, or SQLite found it damaged. */
  | 'corrupt'
  /** A SQLite database, but not one of ours (other application, or other kind of ours). */
  | 'foreign'
  /** Written by a newer build with a schema this build does not know. */
  | 'too-new'
  /** A snapshot file that does not match what it claims to be. */
  | 'bad-snapshot'
  /** The log, hard state and state database disagree in a way no crash can produce. */
  | 'inconsistent'
  /** A call that breaks the storage contract (a bug in the caller). */
  | 'misuse'
  /** The operating system failed a write or sync: nothing after it can be trusted to be on disk. */
  | 'io'
  /** Another process (or connection) holds the file: one data directory, one running peer. */
  | 'in-use'
  /** Not possible right now (no copy of the state to send yet); the caller tries again later. */
  | 'unavailable';

export class StorageError extends Error {
  constructor(readonly code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** SQLite's codes for a file that is not, or no longer, a sound database. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_CORRUPT_VTAB';
}
