// What a failed test prints about its peer processes: each peer's leadership changes, warnings
// and errors from its JSON log, so that a failure on a CI machine can be explained afterwards
// (the logs themselves go with the test's temporary directory).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface LogLine {
  readonly level?: number;
  readonly time?: number;
  readonly msg?: string;
  readonly role?: string;
  readonly leader?: string | null;
  readonly term?: number;
  readonly err?: unknown;
}

const warnLevel = 40;

/** The notable lines of `<dir>/<id>.log`, oldest first, at most `limit` of them. */
export function notableLogLines(dir: string, id: string, limit = 40): string[] {
  const path = join(dir, `${id}.log`);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').flatMap((raw) => {
    const line = parse(raw);
    if (line === null || (line.msg !== 'leadership changed' && (line.level ?? 0) < warnLevel)) return [];
    const at = new Date(line.time ?? 0).toISOString().slice(11, 23);
    const detail = line.msg === 'leadership changed' ? `${line.role} term ${line.term} leader ${line.leader}` : `${line.msg} ${JSON.stringify(line.err ?? '')}`;
    return [`${at} ${id} ${detail}`];
  });
  return lines.slice(-limit);
}

/** Prints the notable lines of every peer's log, merged in time order, as test diagnostics. */
export function printPeerLogs(dir: string, ids: readonly string[]): void {
  const merged = ids.flatMap((id) => notableLogLines(dir, id)).sort();
  console.log(`# what the peers logged (leadership changes, warnings, errors):\n${merged.map((l) => `#   ${l}`).join('\n')}`);
}

function parse(raw: string): LogLine | null {
  if (!raw.startsWith('{')) return null;
  try {
    return JSON.parse(raw) as LogLine;
  } catch {
    return null;
  }
}
