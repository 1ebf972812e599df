// Work on a state database that reads every page, done in a worker thread on its own read-only
// connection so that it neither holds up a peer's start nor blocks its event loop (where the
// Ready loop, heartbeats and clients live): the integrity check (PRAGMA quick_check: about
// 0.2 s per 200 MB from the page cache, 2 s and more from disk) and the copies sent to followers.
// The worker reads a consistent snapshot (WAL) while the main connection goes on writing.
//
// One worker per Storage, kept between jobs: a busy peer snapshots every few seconds, and a new
// thread each time (a V8 isolate, Node's bootstrap, loading better-sqlite3) made a snapshot of a
// 20 MB chat.db cost 242–273 ms of CPU instead of 208–236. It ends after `idleMs` without a job
// and does not keep the process alive while idle.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

/** How long an idle worker is kept for the next job. */
const workerIdleMs = 30_000;

// Plain CommonJS: a worker does not inherit the tsx loader that runs our TypeScript.
// quickCheck resolves with what is wrong with the file rather than failing. copyInto uses
// SQLite's backup API, which copies pages (a 192 MB chat.db in 0.54–0.58 s; VACUUM INTO, which
// rebuilds every table and index, took 0.79–0.89 s and twice the CPU). A backup started again
// whenever another connection writes between two of its steps, and the peer writes every 50 ms,
// so after the first step (0 pages: it only opens the backup) the rest goes in one step, under
// one read transaction: the copy is the database as of one commit, and carries its own applied
// index and term (raft_applied), read back from the copy. The copy is not synced: it is sent to
// a follower, which syncs what it receives; after a crash it is made again. Jobs run one after
// another even when one waits (a backup steps on the next turn of the worker's loop).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const allPages = 0x7fffffff; // a backup step's page count meaning "the rest"
const jobs = {
  quickCheck({ path }) {
    try {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try { return String(db.pragma('quick_check', { simple: true })); } finally { db.close(); }
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  },
  async copyInto({ path, into }) {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try { await db.backup(into, { progress: () => allPages }); } finally { db.close(); }
    // The pages carry the source's WAL mode: back to a rollback journal, so that the copy is one
    // file again (a WAL file and its index would appear beside it wherever it is opened).
    const copy = new Database(into, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      return copy.prepare('SELECT idx AS "index", term FROM raft_applied WHERE id = 1').get();
    } finally { copy.close(); }
  },
};
let queue = Promise.resolve();
parentPort.on('message', ({ id, job, data }) => {
  queue = queue.then(() => jobs[job](data)).then(
    (result) => parentPort.postMessage({ id, result }),
    (err) => parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) }),
  );
});
`;

type Job = 'quickCheck' | 'copyInto';
type Reply = { id: number; result?: unknown; error?: string };
type Waiting = { resolve: (result: unknown) => void; reject: (err: Error) => void };

/** The worker of one Storage: jobs run one at a time, in order; closing the storage stops it. */
export class StorageWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly idleMs = workerIdleMs) {}

  run<T>(job: Job, data: Record<string, string>): Promise<T> {
    const worker = this.worker ?? this.start();
    this.busy(worker);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (result: unknown) => void, reject });
      worker.postMessage({ id, job, data });
    });
  }

  /** The running worker's thread id (null when none runs): which thread the next job goes to. */
  get threadId(): number | null {
    return this.worker?.threadId ?? null;
  }

  /** Stops the worker; jobs not yet answered reject (a half-written copy is a *.partial file). */
  stop(): void {
    const worker = this.worker;
    if (worker === null) return;
    this.forget(worker, new Error('the storage was closed before its worker answered'));
    void worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(workerSource, { eval: true, workerData: { module: sqliteModule } });
    worker.on('message', (reply: Reply) => this.answer(worker, reply));
    worker.once('error', (err) => this.forget(worker, err));
    worker.once('exit', (code) => this.forget(worker, new Error(`a storage worker stopped (exit code ${code}) before it answered`)));
    this.worker = worker;
    return worker;
  }

  private answer(worker: Worker, { id, result, error }: Reply): void {
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return;
    this.waiting.delete(id);
    if (error !== undefined) waiting.reject(new Error(error));
    else waiting.resolve(result);
    if (this.waiting.size === 0) this.idle(worker);
  }

  private busy(worker: Worker): void {
    this.clearIdleTimer();
    worker.ref();
  }

  private idle(worker: Worker): void {
    worker.unref();
    this.idleTimer = setTimeout(() => this.stop(), this.idleMs).unref();
  }

  /** The worker is gone (or going): its unanswered jobs fail with `err`; the next job starts a new one. */
  private forget(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.clearIdleTimer();
    for (const waiting of this.waiting.values()) waiting.reject(err);
    this.waiting.clear();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** Resolves with "ok", or with what is wrong with the file (never rejects for a bad file). */
export function quickCheckInWorker(worker: StorageWorker, path: string): Promise<string> {
  return worker.run<string>('quickCheck', { path });
}

/** Writes a consistent (not synced) copy of the database at `path` to `into`; resolves with its applied position. */
export function copyInWorker(worker: StorageWorker, path: string, into: string): Promise<{ index: number; term: number }> {
  return worker.run<{ index: number; term: number }>('copyInto', { path, into });
}
