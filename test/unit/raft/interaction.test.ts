// Data-driven interaction tests: every testdata/*.txt transcript is a script of steps on a small
// synchronous network with the expected output after each (see README.md for the language).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeConfChange, describeChange } from '../../../main/raft/confchange.js';
import {
  EntryType, MessageType, ProposalDropped, messageTypeNames,
  type ConfChangeType, type Entry, type Message, type NodeId, type RaftConfig, type Ready,
} from '../../../main/raft/types.js';
import { runFile, words } from './datadriven.js';
import { Network, ids, stateWith, str, text } from './harness.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');

function fmtEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    try {
      const cc = decodeConfChange(e.data);
      return `${e.index}@${e.term} conf:${describeChange(cc)}`;
    } catch {
      return `${e.index}@${e.term} conf:?`;
    }
  }
  return `${e.index}@${e.term} ${JSON.stringify(str(e.data))}`;
}

const list = (xs: readonly string[]) => `[${xs.join(',')}]`;

export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${messageTypeNames[m.type] ?? m.type}`;
  const ctx = m.context === '' ? '' : ` ctx=${m.context}`;
  switch (m.type) {
    case MessageType.Prop:
      return `${head} entries=[${m.entries.map((e) => JSON.stringify(str(e.data))).join(', ')}]`;
    case MessageType.PreVote:
    case MessageType.Vote:
      return `${head} term=${m.term} last=${m.index}@${m.logTerm}${m.context === 'transfer' ? ' transfer' : ''}`;
    case MessageType.PreVoteResp:
    case MessageType.VoteResp:
      return `${head} term=${m.term}${m.reject ? ' rejected' : ''}`;
    case MessageType.App: {
      const entries = m.entries.length === 0 ? '' : ` entries=[${m.entries.map(fmtEntry).join(', ')}]`;
      return `${head} term=${m.term} prev=${m.index}@${m.logTerm} commit=${m.commit}${entries}`;
    }
    case MessageType.Commit:
      return `${head} term=${m.term} last=${m.index}@${m.logTerm} commit=${m.commit}`;
    case MessageType.AppResp:
      return `${head} term=${m.term} index=${m.index}${m.reject ? ` rejected hint=${m.rejectHint}@${m.logTerm}` : ''}`;
    case MessageType.Heartbeat:
      return `${head} term=${m.term} commit=${m.commit}${ctx}`;
    case MessageType.HeartbeatResp:
    case MessageType.TimeoutNow:
      return `${head} term=${m.term}${ctx}`;
    case MessageType.Snap: {
      const meta = m.snapshot?.meta;
      return `${head} term=${m.term} snapshot=${meta?.index}@${meta?.term} voters=${list(meta?.conf.voters ?? [])} learners=${list(meta?.conf.learners ?? [])}`;
    }
    case MessageType.ReadIndex:
      return `${head}${ctx}`;
    case MessageType.ReadIndexResp:
      return `${head} term=${m.term} index=${m.index}${ctx}`;
    case MessageType.TransferLeader:
      return `${head} to=${m.context}`;
    default:
      return `${head} term=${m.term}`;
  }
}

class Env {
  net: Network = new Network([]);
  /** Founders' membership, the initial conf of nodes added later. */
  founders = { voters: [] as NodeId[], learners: [] as NodeId[] };
  cfg: Partial<RaftConfig> = {};
  private out: string[] = [];
  /** In `stabilize`: print whole Readies and every message; otherwise only changes of role. */
  private verbose = false;

  run(command: string): string {
    this.out = [];
    const { name, args, opts } = words(command);
    const id = (i = 0) => {
      const v = args[i];
      if (v === undefined) throw new Error(`${name}: missing argument ${i + 1}`);
      return v;
    };
    switch (name) {
      case 'add-nodes': this.addNodes(Number(id()), opts); break;
      case 'add-node': {
        const conf = opts.get('conf') === 'empty' ? { voters: [], learners: [] } : this.founders;
        this.net.add(id(), stateWith(conf), this.cfg, this.net.nodes.size + 1);
        this.watch();
        break;
      }
      case 'campaign': this.net.get(id()).campaign(); break;
      case 'propose': this.attempt(() => this.net.get(id()).propose(text(args.slice(1).join(' ')))); break;
      case 'propose-conf-change':
        this.attempt(() => this.net.get(id()).proposeConfChange({ type: id(1) as ConfChangeType, node: id(2) }));
        break;
      case 'transfer-leadership': this.attempt(() => this.net.get(id()).transferLeadership(id(1))); break;
      case 'read-index': this.attempt(() => this.net.get(id()).readIndex(id(1))); break;
      case 'compact': this.attempt(() => this.net.get(id()).compact(Number(id(1)), text(`snapshot@${id(1)}`))); break;
      case 'tick': {
        const who = id() === 'all' ? [...this.net.nodes.keys()] : id().split(',');
        const times = Number(args[1] ?? 1);
        for (let i = 0; i < times; i++) {
          for (const w of who) this.net.get(w).tick();
          this.net.settle();
        }
        break;
      }
      case 'tick-heartbeat': { // tick a leader until it sends heartbeats, without delivering them
        const n = this.net.get(id());
        for (let i = 0; i < (this.cfg.heartbeatTicks ?? 1); i++) n.tick();
        break;
      }
      case 'settle': this.net.settle(); break;
      case 'stabilize':
        this.verbose = true;
        try {
          this.net.settle();
        } finally {
          this.verbose = false;
        }
        break;
      case 'isolate': this.net.isolate(id()); break;
      case 'cut': this.net.cutLink(id(), id(1)); break;
      case 'heal': this.net.heal(); break;
      case 'restart': {
        this.net.restart(id(), this.founders);
        this.watch();
        this.status([id()]);
        break;
      }
      case 'status': this.status(args.length > 0 ? args : [...this.net.nodes.keys()]); break;
      case 'log': this.log(id()); break;
      case 'progress': this.progress(id()); break;
      default: throw new Error(`unknown command ${name}`);
    }
    return this.out.join('\n');
  }

  private addNodes(n: number, opts: Map<string, string>): void {
    const bool = (k: string, d: boolean) => (opts.has(k) ? opts.get(k) === 'true' : d);
    const num = (k: string, d: number) => (opts.has(k) ? Number(opts.get(k)) : d);
    this.cfg = {
      preVote: bool('prevote', true), checkQuorum: bool('checkquorum', true),
      electionTicks: num('election', 10), heartbeatTicks: num('heartbeat', 1),
      maxMsgBytes: num('max-msg-bytes', 1 << 20), maxInflightMsgs: num('max-inflight', 256),
    };
    const all = ids(n);
    const learners = opts.get('learners')?.split(',') ?? [];
    this.founders = { voters: all.filter((i) => !learners.includes(i)), learners };
    this.net = new Network(all, { config: this.cfg, ...this.founders });
    this.watch();
  }

  private watch(): void {
    this.net.onReady = (id, rd) => this.ready(id, rd);
    this.net.onSend = (m, dropped) => {
      if (this.verbose) this.out.push(`${fmtMessage(m)}${dropped ? ' (dropped)' : ''}`);
    };
  }

  private ready(id: NodeId, rd: Ready): void {
    const p = (s: string) => this.out.push(`${id}: ${s}`);
    if (rd.softState !== null) p(`${rd.softState.role} term=${rd.softState.term} leader=${rd.softState.leader ?? '-'}`);
    for (const r of rd.readStates) p(`read ${r.context} at index ${r.index}`);
    if (!this.verbose) return;
    if (rd.hardState !== null) p(`persist term=${rd.hardState.term} vote=${rd.hardState.vote ?? '-'} commit=${rd.hardState.commit}`);
    if (rd.snapshot !== null) {
      const { index, term, conf } = rd.snapshot.meta;
      p(`install snapshot ${index}@${term} voters=${list(conf.voters)} learners=${list(conf.learners)}`);
    }
    if (rd.entries.length > 0) p(`persist ${rd.entries.map(fmtEntry).join(', ')}`);
    if (rd.committed.length > 0) p(`apply ${rd.committed.map(fmtEntry).join(', ')}`);
  }

  private attempt(f: () => void): void {
    try {
      f();
    } catch (err) {
      if (err instanceof ProposalDropped || (err instanceof Error && /invalid membership/.test(err.message))) this.out.push(`error: ${err.message}`);
      else throw err;
    }
  }

  private status(which: string[]): void {
    for (const id of which) {
      const s = this.net.get(id).status();
      const snap = (s.snapshotIndex > 0 ? ` snapshot=${s.snapshotIndex}` : '') + (s.transferee !== null ? ` transferee=${s.transferee}` : '');
      this.out.push(`${id}: ${s.role} term=${s.term} vote=${s.vote ?? '-'} leader=${s.leader ?? '-'} commit=${s.commit} applied=${s.applied} log=${s.firstIndex}..${s.lastIndex}${snap} voters=${list(s.conf.voters)} learners=${list(s.conf.learners)}`);
    }
  }

  private log(id: NodeId): void {
    const n = this.net.get(id);
    const s = n.status();
    if (s.snapshotIndex > 0) this.out.push(`snapshot ${s.snapshotIndex}@${n.termAt(s.snapshotIndex)}`);
    for (let i = s.firstIndex; i <= s.lastIndex; i++) {
      const e = n.entryAt(i);
      if (e !== undefined) this.out.push(fmtEntry(e));
    }
  }

  private progress(id: NodeId): void {
    const s = this.net.get(id).status();
    if (s.progress.length === 0) this.out.push(`${id} is not the leader`);
    for (const p of [...s.progress].sort((a, b) => a.id.localeCompare(b.id))) {
      this.out.push(`${p.id}: ${p.voter ? 'voter' : 'learner'} match=${p.match} next=${p.next} ${p.state}${p.recentActive ? ' active' : ''}`);
    }
  }
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`interaction: ${file}`, () => {
    const env = new Env();
    runFile(join(dir, file), (command) => env.run(command));
  });
}
