// What this peer learnt from applied conf-change contexts, kept in its data directory
// (members.json): each member's pinned certificate fingerprint and last known address. The
// log entries that carried them are not applied again after a restart (and may be compacted
// away), so without this file a restarted peer would forget the pins and need discovery to
// find the members again. It is a local cache of replicated facts, rewritten atomically.
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileDurably } from '../storage/fsync.js';
import { readJsonFile } from './json-file.js';

const bookSchema = z.object({
  pins: z.record(z.string(), z.string()),
  addresses: z.record(z.string(), z.string()),
});

export type MemberBook = z.infer<typeof bookSchema>;

const fileName = 'members.json';

export function readMemberBook(dataDir: string): MemberBook {
  return readJsonFile(join(dataDir, fileName), bookSchema, 'is damaged', '; remove it (members are found again)') ?? { pins: {}, addresses: {} };
}

export function writeMemberBook(dataDir: string, book: MemberBook): void {
  writeFileDurably(join(dataDir, fileName), JSON.stringify(book, null, 2) + '\n');
}
