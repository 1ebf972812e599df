// Storage fixtures: a data directory with the chat schema, and raft entries made to order.
import type { TestContext } from 'node:test';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { EntryType, type Entry } from '../../main/raft/types.js';
import { Storage, type StorageOptions } from '../../main/storage/storage.js';
import { tempDir } from './temp-dir.js';

export function openStorage(dir: string, options: Partial<StorageOptions> = {}): Storage {
  return Storage.open(dir, { stateSchema: chatSchema, ...options });
}

/** A fresh data directory, opened; closed after the test. */
export function freshStorage(t: TestContext, options: Partial<StorageOptions> = {}): { dir: string; storage: Storage } {
  const dir = tempDir(t, 'quorum-data-');
  const storage = openStorage(dir, options);
  t.after(() => storage.close());
  return { dir, storage };
}

/** Entries first..last of `term`, each carrying its own index as data. */
export function entries(first: number, last: number, term: number, type = EntryType.Normal): Entry[] {
  const out: Entry[] = [];
  for (let index = first; index <= last; index++) out.push({ index, term, type, data: Buffer.from(`e${index}t${term}`) });
  return out;
}

export function describeLog(log: readonly Entry[]): string[] {
  return log.map((e) => `${e.index}/${e.term}:${Buffer.from(e.data).toString()}`);
}
