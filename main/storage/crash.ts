// Crash injection for the durability tests: crashPoint(name) SIGKILLs this process when the
// environment variable QUORUM_CHAT_CRASH_AT names that point ("name", or "name#n" for its n-th
// hit). A test driver may also arm a point at run time. Unset, a call costs one comparison.

/** Every place where a crash must leave the data directory recoverable. */
export type CrashPoint =
  | 'append:before' | 'append:after'
  | 'hardstate:before' | 'hardstate:after'
  /** Inside the raft.db transaction, after the writes and before the commit. */
  | 'save:torn'
  /** After the blocking save's fdatasync (RaftStore.save): a power cut keeps what was written. */
  | 'save:synced'
  | 'apply:before' | 'apply:torn' | 'apply:after'
  /** Compaction: batches committed, before the state database's sync; synced, not recorded; recorded. */
  | 'compact:before' | 'compact:synced' | 'compact:after'
  | 'snapshot-install:before' | 'snapshot-install:recorded' | 'snapshot-install:after';

interface Target { readonly name: string; remaining: number }

let target = parseTarget(process.env.QUORUM_CHAT_CRASH_AT);

function parseTarget(spec: string | null | undefined): Target | null {
  if (spec === undefined || spec === null || spec === '') return null;
  const [name = '', nth] = spec.split('#');
  const remaining = nth === undefined ? 1 : Number(nth);
  if (!Number.isInteger(remaining) || remaining < 1) throw new Error(`bad crash point spec: ${spec}`);
  return { name, remaining };
}

export function crashPoint(name: CrashPoint): void {
  if (target === null || target.name !== name) return;
  if (--target.remaining > 0) return;
  // SIGKILL, not exit(): no finally blocks, no SQLite close, exactly like a power cut for the process.
  process.kill(process.pid, 'SIGKILL');
}

/** Arms (or with null disarms) a crash point from inside the process, same syntax as the env var. */
export function setCrashTarget(spec: string | null): void {
  target = parseTarget(spec);
}
