// A canonical hash of a database's contents: schema and every row of every table in key order.
// Two replicas that applied the same log hash equal even when their files differ byte-wise
// (free pages, page order after a snapshot install). Used by tests and cluster checks.
import { createHash } from 'node:crypto';
import type { Db } from './sqlite.js';

export function canonicalHash(db: Db): string {
  const hash = createHash('sha256');
  const schema = db.prepare<[], [string, string, string | null]>(
    'SELECT type, name, sql FROM sqlite_schema ORDER BY type, name').raw().all();
  hash.update(`${JSON.stringify(schema)}\n`);
  for (const [type, name] of schema) {
    if (type !== 'table') continue;
    const table = `"${name.replaceAll('"', '""')}"`;
    const columns = db.prepare(`SELECT * FROM ${table} LIMIT 0`).columns().length;
    const order = Array.from({ length: columns }, (_, i) => i + 1).join(', ');
    hash.update(`${table}\n`);
    for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).raw().iterate()) {
      hash.update(`${JSON.stringify(row, blobAsHex)}\n`);
    }
  }
  return hash.digest('hex');
}

function blobAsHex(_key: string, value: unknown): unknown {
  // JSON.stringify hands Buffers to replacers already converted by Buffer#toJSON.
  const v = value as { type?: unknown; data?: unknown } | null;
  if (v !== null && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) {
    return `x'${Buffer.from(v.data as number[]).toString('hex')}'`;
  }
  return value;
}
