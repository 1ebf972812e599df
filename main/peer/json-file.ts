// The data directory's JSON files (peer.json, group.json, members.json): read against a schema,
// with one clear error naming the file and what is wrong, whether it is not JSON at all (an
// empty file after a crash of an older build) or JSON of the wrong shape. Written with
// writeFileDurably (main/storage/fsync.ts).
import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';

/**
 * The file's content, or null when it does not exist. Otherwise throws
 * `${path} ${what}: ${problem}${advice}`, the file left as it is.
 */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>, what: string, advice: string): T | null {
  if (!existsSync(path)) return null;
  const fail = (problem: string, cause?: unknown) => new Error(`${path} ${what}: ${problem}${advice}`, { cause });
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw fail(`not valid JSON (${(err as Error).message})`, err);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}
