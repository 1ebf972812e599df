// Work on a state database that reads every page, done in a worker thread on its own read-only
// connection so that it neither holds up a peer's start nor blocks its event loop (where the
// Ready loop, heartbeats and clients live): the integrity check (PRAGMA quick_check: about
// 0.2 s per 200 MB from the page cache, 2 s and more from disk) and VACUUM INTO for snapshots.
// The worker reads a consistent snapshot (WAL) while the main connection goes on writing.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

// Plain CommonJS: a worker does not inherit the tsx loader that runs our TypeScript.
const checkSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
let result;
try {
  const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  try { result = String(db.pragma('quick_check', { simple: true })); } finally { db.close(); }
} catch (err) {
  result = err instanceof Error ? err.message : String(err);
}
parentPort.postMessage({ result });
`;

// VACUUM INTO is one read transaction: the copy is the database as of one commit, and carries
// its own applied index and term (raft_applied), read back from the copy once it is synced.
const vacuumSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, fsyncSync, openSync } = require('node:fs');
const Database = require(workerData.module);
try {
  const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  try { db.prepare('VACUUM INTO ?').run(workerData.into); } finally { db.close(); }
  const fd = openSync(workerData.into, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
  const copy = new Database(workerData.into, { readonly: true, fileMustExist: true });
  let at;
  try { at = copy.prepare('SELECT idx AS "index", term FROM raft_applied WHERE id = 1').get(); } finally { copy.close(); }
  parentPort.postMessage({ result: at });
} catch (err) {
  parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
`;

/** A handle on the workers of one Storage, so that closing it stops them. */
export class StorageWorkers {
  private readonly running = new Set<Worker>();

  run<T>(source: string, data: Record<string, string>): Promise<T> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { module: sqliteModule, ...data } });
      this.running.add(worker);
      worker.once('message', (reply: { result?: T; error?: string }) => {
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply.result as T);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        this.running.delete(worker);
        reject(new Error(`a storage worker stopped (exit code ${code}) before it answered`)); // no-op once settled
      });
    });
  }

  /** Stops every worker still running (its promise rejects; a half-written copy is a *.partial file). */
  stopAll(): void {
    for (const worker of this.running) void worker.terminate();
    this.running.clear();
  }
}

/** Resolves with "ok", or with what is wrong with the file (never rejects for a bad file). */
export function quickCheckInWorker(workers: StorageWorkers, path: string): Promise<string> {
  return workers.run<string>(checkSource, { path });
}

/** Writes a consistent, fsynced copy of the database at `path` to `into`; resolves with its applied position. */
export function vacuumIntoInWorker(workers: StorageWorkers, path: string, into: string): Promise<{ index: number; term: number }> {
  return workers.run<{ index: number; term: number }>(vacuumSource, { path, into });
}
