// raft.db: the node's identity, hard state, how far the log is compacted, and the log. Every Ready's
// entries and hard state are written in one transaction, made durable by one fsync of the WAL,
// which the peer awaits off the event loop (write(), then flush()).
import { applyConfChange, decodeConfChangeOrNull } from '../raft/confchange.js';
import type { CompactedLog, ConfState, Entry, EntryType, HardState, NodeId, SnapshotMeta } from '../raft/types.js';
import { crashPoint } from './crash.js';
import { StorageError } from './errors.js';
import type { Db } from './sqlite.js';
import { WalSync } from './wal-sync.js';

export interface Identity {
  readonly nodeId: NodeId;
  /** The membership the group was founded with (empty for a node that joins an existing group). */
  readonly founders: ConfState;
}

/**
 * How far the log is compacted: the metadata of the state there, and the snapshot file that holds
 * it while one must be kept (a snapshot received from the leader, between its record and its
 * rename over the state database); null when the state database itself holds that state durably.
 */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly file: string | null;
}

const emptyConf: ConfState = { voters: [], learners: [] };

type LogRow = [index: number, term: number, type: EntryType, data: Buffer];

/**
 * Log rows a snapshot made redundant (beyond the retained ones) are deleted at most this many
 * per write. Deleting a snapshot interval's 10,000 rows at once held the event loop for 13–30 ms
 * on every peer at the same moment, the largest part of the 64-sender p99; 512 rows cost 1 ms.
 */
const trimRowsPerWrite = 512;

/**
 * Log rows kept below the snapshot index by default, so that a leader can send a follower that
 * far behind the entries instead of a copy of the state database (see CompactedLog). A follower
 * 100,000 messages behind then gets about 20 MB of entries, whatever the size of chat.db (a
 * copy of 208 MB at 1.1 million messages took 1.4 s to make and 2 s to stream); the cost is
 * about 200 bytes of raft.db per retained 100-character message. etcd keeps 5,000 (SnapshotCatchUpEntries),
 * hashicorp/raft 10,240 (TrailingLogs); a chat peer is often off for a day, so more here.
 */
export const defaultRetainedEntries = 200_000;

/**
 * ...and at most about this many bytes of entry data: a message may hold 16,000 characters, and
 * 200,000 of those would be gigabytes. The byte budget becomes a row count at each compaction
 * (and at open), from the mean size of the latest sizeSampleRows rows: nothing per write.
 */
export const defaultRetainedBytes = 64 << 20;
const sizeSampleRows = 4096;

export class RaftStore {
  private readonly stmts;
  private readonly saveTx: (hardState: HardState | null, entries: readonly Entry[], trimTo: number) => void;
  private last: number;
  private snap: StoredSnapshot | null;
  /** Every row at or below this index is deleted; rows up to the snapshot's index wait for trimming. */
  private trimmedTo: number;
  /** Term and vote as last saved: a save that changes neither (nor the log) moves only the commit index. */
  private savedTerm: number;
  private savedVote: NodeId | null;
  private readonly walSync: WalSync;

  /** Rows kept below the snapshot index: retainedEntries, fewer when the entries are large (keptRows()). */
  private retainedRows: number;

  /** Log rows kept below the snapshot index: at most `retainedEntries`, and about `retainedBytes` of data. */
  constructor(private readonly db: Db, private readonly retainedEntries = defaultRetainedEntries, private readonly retainedBytes = defaultRetainedBytes) {
    this.walSync = new WalSync(db.name, 'the raft log');
    this.stmts = {
      identity: db.prepare<[], { node_id: string; founders: string }>('SELECT node_id, founders FROM identity WHERE id = 1'),
      setIdentity: db.prepare<[string, string]>('INSERT INTO identity (id, node_id, founders) VALUES (1, ?, ?)'),
      hardState: db.prepare<[], HardState>('SELECT term, vote, commit_index AS "commit" FROM hard_state WHERE id = 1'),
      setHardState: db.prepare<[number, string | null, number]>('UPDATE hard_state SET term = ?, vote = ?, commit_index = ? WHERE id = 1'),
      snapshot: db.prepare<[], { idx: number; term: number; conf: string; file: string | null }>('SELECT idx, term, conf, file FROM snapshot WHERE id = 1'),
      setSnapshot: db.prepare<[number, number, string, string | null]>('INSERT OR REPLACE INTO snapshot (id, idx, term, conf, file) VALUES (1, ?, ?, ?, ?)'),
      lastIndex: db.prepare<[], number>('SELECT max(idx) FROM log').pluck(),
      firstIndex: db.prepare<[], number>('SELECT min(idx) FROM log').pluck(),
      entriesFrom: db.prepare<[number, number], LogRow>('SELECT idx, term, type, data FROM log WHERE idx >= ? AND idx <= ? ORDER BY idx').raw(),
      termAt: db.prepare<[number], number>('SELECT term FROM log WHERE idx = ?').pluck(),
      meanSize: db.prepare<[number], number | null>('SELECT avg(length(data)) FROM (SELECT data FROM log ORDER BY idx DESC LIMIT ?)').pluck(),
      confChanges: db.prepare<[number, number], Buffer>('SELECT data FROM log WHERE type = 1 AND idx > ? AND idx <= ? ORDER BY idx').pluck(),
      insert: db.prepare<[number, number, number, Uint8Array]>('INSERT INTO log (idx, term, type, data) VALUES (?, ?, ?, ?)'),
      truncateFrom: db.prepare<[number]>('DELETE FROM log WHERE idx >= ?'),
      compactTo: db.prepare<[number]>('DELETE FROM log WHERE idx <= ?'),
      clear: db.prepare('DELETE FROM log'),
    };
    this.saveTx = db.transaction((hardState: HardState | null, entries: readonly Entry[], trimTo: number) => {
      this.appendEntries(entries);
      if (hardState !== null) this.stmts.setHardState.run(hardState.term, hardState.vote, hardState.commit);
      if (trimTo > this.trimmedTo) this.stmts.compactTo.run(trimTo);
      crashPoint('save:torn');
    });
    // Commits do not sync the WAL: every write that must be durable is followed by a flush.
    db.pragma('synchronous = NORMAL');
    this.snap = this.readSnapshot();
    this.last = (this.stmts.lastIndex.get() as number | null) ?? this.snapIndex();
    const first = this.stmts.firstIndex.get() as number | null;
    this.trimmedTo = first === null ? this.last : first - 1;
    this.retainedRows = this.keptRows();
    const saved = this.stmts.hardState.get();
    this.savedTerm = saved?.term ?? 0;
    this.savedVote = saved?.vote ?? null;
  }

  identity(): Identity | null {
    const row = this.stmts.identity.get();
    return row === undefined ? null : { nodeId: row.node_id, founders: JSON.parse(row.founders) as ConfState };
  }

  /** Records who this node is, once; the same identity again is a no-op, another one an error. */
  setIdentity(identity: Identity): void {
    const current = this.identity();
    if (current === null) {
      this.stmts.setIdentity.run(identity.nodeId, JSON.stringify(identity.founders));
      this.flushSync();
    } else if (current.nodeId !== identity.nodeId) {
      throw new StorageError('misuse', `this data directory belongs to node ${current.nodeId}, not ${identity.nodeId}`);
    }
  }

  hardState(): HardState {
    const row = this.stmts.hardState.get();
    if (row === undefined) throw new StorageError('inconsistent', 'raft.db has no hard_state row');
    return row;
  }

  snapshot(): StoredSnapshot | null {
    return this.snap;
  }

  lastIndex(): number {
    return this.last;
  }

  entriesAfter(index: number): Entry[] {
    return this.readEntries(index + 1, this.last, Infinity);
  }

  /**
   * The rows kept below the snapshot index, for the core (CompactedLog), as far as `offered`
   * allows (a follower whose log ends at that index may be sent the entries after it). Rows at
   * or below the snapshot never change: they are committed, and only an installed snapshot
   * removes them.
   */
  compactedLog(offered: (index: number) => boolean = () => true): CompactedLog {
    const held = (index: number) => index > this.trimmedTo && index <= this.snapIndex();
    return {
      term: (index) => (held(index) && offered(index) ? this.stmts.termAt.get(index) as number | undefined : undefined),
      entries: (lo, hi, maxBytes) => (held(lo) && offered(lo - 1) ? this.readEntries(lo, Math.min(hi, this.snapIndex()), maxBytes) : []),
    };
  }

  private snapIndex(): number {
    return this.snap?.meta.index ?? 0;
  }

  /**
   * Rows lo..hi: at most `maxBytes` of data but at least one. Row by row: at start-up this reads
   * a snapshot interval of entries, and all() would hold every row twice at the peak.
   */
  private readEntries(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (const [index, term, type, data] of this.stmts.entriesFrom.iterate(lo, hi)) {
      bytes += data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({ index, term, type, data });
    }
    return out;
  }

  /** Persists one Ready's hard state and entries durably (write(), then a blocking flush). */
  save(hardState: HardState | null, entries: readonly Entry[]): void {
    if (!this.write(hardState, entries)) return;
    this.flushSync();
    crashPoint('save:synced');
  }

  /**
   * Writes one Ready's hard state and entries in one transaction, without waiting for the disk
   * (synchronous=NORMAL: the WAL is not fsynced at commit). Entries replace whatever the log
   * holds from entries[0].index on (a new leader overwriting a conflicting suffix). Returns
   * whether the write still has to be made durable by flush() before anything that depends on
   * it leaves this node (votes, acknowledgements) or is applied.
   *
   * The hard state row is written only when the term or the vote changes (the commit index then
   * goes with them): a higher commit index alone is not written, with entries or without. The
   * commit index is volatile state in Raft (Figure 2): a node that restarts with an older one
   * learns the current one from the leader, and applies nothing before; load() never lets it
   * fall below what chat.db has applied. Writing it with every append cost a second page (a
   * 4 KiB WAL frame) per write on every peer: 12% of the throughput at 64 senders.
   */
  write(hardState: HardState | null, entries: readonly Entry[]): boolean {
    const hard = hardState !== null && (hardState.term !== this.savedTerm || hardState.vote !== this.savedVote) ? hardState : null;
    if (hard === null && entries.length === 0) return false;
    if (entries.length > 0) crashPoint('append:before');
    if (hard !== null) crashPoint('hardstate:before');
    const trimTo = Math.min(this.snapIndex() - this.retainedRows, this.trimmedTo + trimRowsPerWrite);
    this.saveTx(hard, entries, trimTo);
    this.trimmedTo = Math.max(this.trimmedTo, trimTo);
    if (hard !== null) {
      this.savedTerm = hard.term;
      this.savedVote = hard.vote;
    }
    const lastNew = entries[entries.length - 1];
    if (lastNew !== undefined) this.last = lastNew.index;
    if (entries.length > 0) crashPoint('append:after');
    if (hard !== null) crashPoint('hardstate:after');
    return true;
  }

  /**
   * Makes every write so far durable: one fdatasync of the WAL, on libuv's thread pool (WalSync:
   * what synchronous=FULL does at every commit, done later and off the event loop).
   */
  flush(): Promise<void> {
    return this.walSync.flush();
  }

  /** flush() on the event loop (start-up, installing a snapshot, tests). */
  flushSync(): void {
    this.walSync.flushSync();
  }

  /** How many rows below the snapshot stay: retainedEntries, fewer when the latest entries are large. */
  private keptRows(): number {
    const meanBytes = (this.stmts.meanSize.get(sizeSampleRows) as number | null) ?? 0;
    return Math.min(this.retainedEntries, Math.floor(this.retainedBytes / Math.max(meanBytes, 1)));
  }

  private appendEntries(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.checkAppend(first.index, entries);
    if (first.index <= this.last) this.stmts.truncateFrom.run(first.index);
    for (const e of entries) this.stmts.insert.run(e.index, e.term, e.type, e.data);
  }

  private checkAppend(first: number, entries: readonly Entry[]): void {
    const snapIndex = this.snapIndex();
    const lastNew = entries[entries.length - 1] as Entry;
    if (first <= snapIndex || first > this.last + 1 || lastNew.index !== first + entries.length - 1) {
      throw new StorageError('misuse', `cannot append entries ${first}..${lastNew.index} to a log ` +
        `holding ${snapIndex + 1}..${this.last} (must be contiguous and after the snapshot)`);
    }
  }

  /**
   * Records how far the log is compacted (a new latest snapshot), not yet durable: flush() or
   * flushSync() before the caller removes the previous record's file. `replaceLog`: an installed
   * snapshot supersedes the whole log. Otherwise (our own compaction) the rows it covers stay: the
   * last retainedEntries of them for compactedLog(), the others until later writes trim them
   * (trimRowsPerWrite). entriesAfter, confAt and lastIndex start at the snapshot, and a trim
   * commits after this record in the WAL, so no crash keeps one without the other.
   */
  recordSnapshot(stored: StoredSnapshot, replaceLog: boolean): void {
    const { index, term, conf } = stored.meta;
    this.db.transaction(() => {
      this.stmts.setSnapshot.run(index, term, JSON.stringify(conf), stored.file);
      if (replaceLog) this.stmts.clear.run();
    })();
    this.snap = stored;
    if (replaceLog) this.trimmedTo = index;
    else this.retainedRows = this.keptRows(); // once per compaction: a query of the latest rows' sizes
    this.last = replaceLog ? index : Math.max(this.last, index);
  }

  /** The membership as of `index`: the snapshot's (or the founders') plus the conf changes since. */
  confAt(index: number): ConfState {
    const base = this.snap?.meta ?? { index: 0, conf: this.identity()?.founders ?? emptyConf };
    if (index < base.index) throw new StorageError('misuse', `conf at ${index} is compacted (snapshot at ${base.index})`);
    let conf = base.conf;
    for (const data of this.stmts.confChanges.all(base.index, index)) {
      const cc = decodeConfChangeOrNull(data); // a corrupt change is a no-op, as in the core (Raft.applyConfEntry)
      if (cc !== null) conf = applyConfChange(conf, cc);
    }
    return conf;
  }

  close(): void {
    this.walSync.close();
    this.db.close();
  }

  private readSnapshot(): StoredSnapshot | null {
    const row = this.stmts.snapshot.get();
    if (row === undefined) return null;
    return { meta: { index: row.idx, term: row.term, conf: JSON.parse(row.conf) as ConfState }, file: row.file };
  }
}
