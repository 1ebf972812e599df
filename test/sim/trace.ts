// The run's trace: every event is folded into a hash (two runs of one seed must produce the same
// hash, which is how determinism is tested) and, with --verbose, printed as one line.
import { messageTypeNames, type Message } from '../../main/raft/types.js';
import { Hasher } from './hash.js';
import { nodeIndex } from './ids.js';

export class Trace {
  private readonly hasher = new Hasher();
  /** The current step; set by the simulator's loop. */
  step = 0;

  constructor(readonly verbose: boolean, private readonly out: (line: string) => void = console.log) {}

  /** A non-message event: `what` names it, the numbers identify it for the hash. */
  event(what: string, node: string, a = 0, b = 0, detail?: () => string): void {
    this.hasher.str(what).str(node).num(a).num(b);
    if (this.verbose) this.out(`${this.step} ${node} ${what}${detail ? ' ' + detail() : ` ${a} ${b}`}`);
  }

  /** A message event (sent, delivered, dropped…). */
  message(what: string, m: Message): void {
    this.hasher.str(what).num(nodeIndex(m.from)).num(nodeIndex(m.to)).num(m.type).num(m.term).num(m.index).num(m.logTerm)
      .num(m.commit).num(m.entries.length).num(m.reject ? 1 : 0);
    if (this.verbose) this.out(`${this.step} ${what} ${describeMessage(m)}`);
  }

  /** Free text for --verbose only (not hashed: it must not carry information the events lack). */
  note(text: string): void {
    if (this.verbose) this.out(`${this.step} ${text}`);
  }

  hash(): string {
    return this.hasher.hex();
  }
}

export function describeMessage(m: Message): string {
  const parts = [`${m.from}->${m.to}`, messageTypeNames[m.type] ?? `type${m.type}`, `t${m.term}`];
  if (m.index || m.logTerm) parts.push(`i${m.index}/${m.logTerm}`);
  if (m.commit) parts.push(`c${m.commit}`);
  if (m.entries.length) parts.push(`[${m.entries[0]?.index}..${m.entries[m.entries.length - 1]?.index}]`);
  if (m.reject) parts.push(`reject hint=${m.rejectHint}`);
  if (m.snapshot) parts.push(`snap@${m.snapshot.meta.index}/${m.snapshot.meta.term}`);
  if (m.context) parts.push(`ctx=${m.context}`);
  return parts.join(' ');
}
