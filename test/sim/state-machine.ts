// The sim's replicated state machine: a set of applied command ids (deduplicated, as the chat's
// client sessions make every command exactly-once even when the network duplicates a forwarded
// proposal) and a running hash over the ids in apply order. It also tracks the membership as of
// its applied index (with the core's own rule for a change's effect). Its whole state is "on
// disk": a crash never loses an applied entry.
import { applyConfChange, decodeConfChange, type MembershipEntry } from '../../main/raft/confchange.js';
import { EntryType, type ConfState, type Entry, type Snapshot } from '../../main/raft/types.js';
import { commandId } from './command.js';
import { Hasher } from './hash.js';

export interface ApplyResult {
  /** The command id, or null for the leader's no-op and conf changes. */
  readonly id: string | null;
  /** The id was applied before (at a lower index): this entry has no effect. */
  readonly duplicate: boolean;
  /** The membership change this entry carried, if any. */
  readonly change: MembershipEntry | null;
}

interface SnapshotData {
  readonly applied: number;
  readonly lanes: [number, number];
  readonly ids: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const noEffect: ApplyResult = { id: null, duplicate: false, change: null };

export class SimStateMachine {
  applied = 0;
  private ids = new Set<string>();
  private hasher = new Hasher();

  constructor(public conf: ConfState) {}

  apply(e: Entry): ApplyResult {
    this.applied = e.index;
    if (e.type === EntryType.ConfChange) {
      const change = decodeConfChange(e.data);
      this.conf = applyConfChange(this.conf, change);
      return { id: null, duplicate: false, change };
    }
    const id = commandId(e.data);
    if (id === null) return noEffect;
    if (this.ids.has(id)) return { id, duplicate: true, change: null };
    this.ids.add(id);
    this.hasher.str(id);
    return { id, duplicate: false, change: null };
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  stateHash(): string {
    return this.hasher.hex();
  }

  serialize(): Uint8Array {
    const data: SnapshotData = { applied: this.applied, lanes: this.hasher.lanes(), ids: [...this.ids] };
    return encoder.encode(JSON.stringify(data));
  }

  /** Replace the whole state with a snapshot's. Returns an error if its data contradicts its meta. */
  restore(snapshot: Snapshot): string | null {
    const data = JSON.parse(decoder.decode(snapshot.data)) as SnapshotData;
    if (data.applied !== snapshot.meta.index) {
      return `snapshot at ${snapshot.meta.index} carries state applied to ${data.applied}`;
    }
    this.applied = data.applied;
    this.ids = new Set(data.ids);
    this.hasher = new Hasher(...data.lanes);
    this.conf = snapshot.meta.conf;
    return null;
  }
}
