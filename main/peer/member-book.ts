// What this peer learnt from applied conf-change contexts, kept in its data directory
// (members.json): each member's pinned certificate fingerprint and last known address. The
// log entries that carried them are not applied again after a restart (and may be compacted
// away), so without this file a restarted peer would forget the pins and need discovery to
// find the members again. It is a local cache of replicated facts, rewritten atomically.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileDurably } from '../storage/fsync.js';

const bookSchema = z.object({
  pins: z.record(z.string(), z.string()),
  addresses: z.record(z.string(), z.string()),
});

export type MemberBook = z.infer<typeof bookSchema>;

const fileName = 'members.json';

export function readMemberBook(dataDir: string): MemberBook {
  const path = join(dataDir, fileName);
  if (!existsSync(path)) return { pins: {}, addresses: {} };
  const damaged = (problem: string, cause?: unknown) =>
    new Error(`${path} is damaged: ${problem}; remove it (members are found again)`, { cause });
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw damaged(`not JSON (${(err as Error).message})`, err);
  }
  const parsed = bookSchema.safeParse(value);
  if (!parsed.success) throw damaged(parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

export function writeMemberBook(dataDir: string, book: MemberBook): void {
  writeFileDurably(join(dataDir, fileName), JSON.stringify(book, null, 2) + '\n');
}
