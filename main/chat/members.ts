// The members table (migration 003): each member's context (addresses and pinned certificate
// fingerprint), replicated. Conf changes write it when applied (machine.ts); a pinMember command
// only fills a missing row (first writer wins), for the founder, whose bootstrap has no context.
import type { Db } from '../storage/sqlite.js';

export class MemberRows {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      get: db.prepare<[string], string>('SELECT context FROM members WHERE node_id = ?').pluck(),
      upsert: db.prepare<[string, string, number]>(
        'INSERT INTO members (node_id, context, updated_index) VALUES (?, ?, ?) ' +
        'ON CONFLICT (node_id) DO UPDATE SET context = excluded.context, updated_index = excluded.updated_index'),
      insertIfAbsent: db.prepare<[string, string, number]>(
        'INSERT INTO members (node_id, context, updated_index) VALUES (?, ?, ?) ON CONFLICT (node_id) DO NOTHING'),
      remove: db.prepare<[string]>('DELETE FROM members WHERE node_id = ?'),
    };
  }

  /** The replicated context of `node` (undefined without a row). */
  context(node: string): string | undefined {
    return this.s.get.get(node);
  }

  upsert(node: string, context: string, index: number): void {
    this.s.upsert.run(node, context, index);
  }

  /** Inserts a row unless `node` has one; true if it did. */
  insertIfAbsent(node: string, context: string, index: number): boolean {
    return this.s.insertIfAbsent.run(node, context, index).changes === 1;
  }

  remove(node: string): void {
    this.s.remove.run(node);
  }
}
