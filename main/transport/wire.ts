// Conversion between the core's Message and its protobuf form, validating everything that
// arrives: a malformed message from the network is refused, never handed to the core.
import {
  MessageType, type ConfState, type Entry, type Message, type NodeId, type Snapshot, type SnapshotMeta,
} from '../raft/types.js';

export interface WireEntry { term: number; index: number; type: number; data: Uint8Array }
export interface WireMeta { index: number; term: number; conf: { voters: string[]; learners: string[] } | null }
export interface WireMessage {
  type: number; from: string; to: string; term: number; logTerm: number; index: number; commit: number;
  entries: WireEntry[]; reject: boolean; rejectHint: number; context: string; snapshot: WireMeta | null;
}

const maxMessageType = MessageType.Removed;
const emptyData = new Uint8Array(0);

export class WireError extends Error {
  constructor(message: string) {
    super(`malformed peer message: ${message}`);
    this.name = 'WireError';
  }
}

/**
 * A message of a type this build does not know: sent by a newer build. Dropped, as a lost
 * message would be (Raft recovers from any loss), so that a new message type can roll out one
 * machine at a time; everything else malformed ends the stream.
 */
export class UnknownMessageType extends WireError {
  constructor(type: number) {
    super(`unknown type ${type} (a newer peer?): dropped`);
    this.name = 'UnknownMessageType';
  }
}

export function toWire(m: Message): WireMessage {
  return {
    type: m.type, from: m.from, to: m.to, term: m.term, logTerm: m.logTerm, index: m.index, commit: m.commit,
    entries: m.entries as WireEntry[], reject: m.reject, rejectHint: m.rejectHint, context: m.context,
    snapshot: m.snapshot === null ? null : toWireMeta(m.snapshot.meta),
  };
}

function toWireMeta(meta: SnapshotMeta): WireMeta {
  return { index: meta.index, term: meta.term, conf: { voters: [...meta.conf.voters], learners: [...meta.conf.learners] } };
}

/**
 * Validates a decoded message. `sender` is the authenticated peer it came from: a message
 * claiming another origin is refused. Snapshot bytes travel separately (`snapshotData`).
 */
export function fromWire(w: unknown, sender: NodeId, snapshotData: Uint8Array = emptyData): Message {
  if (typeof w !== 'object' || w === null) throw new WireError('not an object');
  const o = w as Record<string, unknown>;
  const type = count(o.type, 'type');
  if (type > maxMessageType) throw new UnknownMessageType(type);
  const from = id(o.from, 'from');
  if (from !== sender) throw new WireError(`message from ${from} on ${sender}'s stream`);
  return {
    type, from, to: id(o.to, 'to'),
    term: count(o.term, 'term'), logTerm: count(o.logTerm, 'logTerm'), index: count(o.index, 'index'),
    commit: count(o.commit, 'commit'), entries: entries(o.entries, type === MessageType.Prop), reject: o.reject === true,
    rejectHint: count(o.rejectHint, 'rejectHint'), context: text(o.context, 'context'),
    snapshot: snapshot(o.snapshot, snapshotData),
  };
}

function count(v: unknown, field: string): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new WireError(`${field} is not a count`);
  return n;
}

function text(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > 1024) throw new WireError(`${field} is not a short string`);
  return v;
}

function id(v: unknown, field: string): NodeId {
  const s = text(v, field);
  if (s === '') throw new WireError(`${field} is empty`);
  return s;
}

function ids(v: unknown, field: string): NodeId[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new WireError(`${field} is not a list`);
  return v.map((x) => id(x, field));
}

/** Log entries must be contiguous; proposals have no index yet (the leader assigns it). */
function entries(v: unknown, proposal: boolean): Entry[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new WireError('entries is not a list');
  let expected = -1;
  return v.map((x: unknown) => {
    if (typeof x !== 'object' || x === null) throw new WireError('entry is not an object');
    const e = x as Record<string, unknown>;
    const index = count(e.index, 'entry index');
    if (proposal ? index !== 0 : expected >= 0 && index !== expected) throw new WireError('entries are not contiguous');
    expected = index + 1;
    const type = count(e.type, 'entry type');
    if (type > 1) throw new WireError(`unknown entry type ${type}`);
    const data = e.data ?? emptyData;
    if (!(data instanceof Uint8Array)) throw new WireError('entry data is not bytes');
    return { term: count(e.term, 'entry term'), index, type, data };
  });
}

function snapshot(v: unknown, data: Uint8Array): Snapshot | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') throw new WireError('snapshot is not an object');
  const s = v as Record<string, unknown>;
  const conf = (s.conf ?? {}) as Record<string, unknown>;
  const meta: SnapshotMeta = {
    index: count(s.index, 'snapshot index'), term: count(s.term, 'snapshot term'),
    conf: { voters: ids(conf.voters, 'voters'), learners: ids(conf.learners, 'learners') } satisfies ConfState,
  };
  return { meta, data };
}
