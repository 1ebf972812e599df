// A LAN group (mutual TLS between peers, certificates from the group secret) of real
// `quorum-chat peer` processes on loopback, made the way people make one: the first peer runs
// `--create-group`, the others `--join-code CODE --join ADDRESS` (by address: no multicast
// needed), autopilot promotes them to voters. Peer traffic goes over TLS on --listen; clients
// (the benchmark's senders, like the CLI and the app) use the plaintext loopback --client-listen.
// Children hold an IPC channel to this process and stop when it closes (see main/cli/signals.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));

export interface TlsMember {
  readonly id: string;
  /** TLS address for peers (what a joiner dials: 127.0.0.1:port). */
  readonly address: string;
  /** What it binds (see the note in quorum.ts on why not 127.0.0.1). */
  readonly listen: string;
  /** Plaintext loopback address for clients. */
  readonly clientAddress: string;
  readonly dataDir: string;
}

export interface TlsGroupOptions {
  /** Each peer's standard error goes to `<logDir>/<id>.log`. */
  readonly logDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

export class TlsGroup {
  private readonly running = new Map<string, Running>();
  private inviteCode: string | null = null;

  constructor(readonly members: readonly TlsMember[], private readonly options: TlsGroupOptions) {}

  member(id: string): TlsMember {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  runningIds(): string[] {
    return this.members.map((m) => m.id).filter((id) => this.running.has(id));
  }

  /** Founds the group on the first member, then has every other one join it by address. */
  async found(): Promise<void> {
    const [founder, ...joiners] = this.members as [TlsMember, ...TlsMember[]];
    await this.start(founder.id);
    await Promise.all(joiners.map((m) => this.start(m.id)));
  }

  /** Starts (first time: creates or joins) one peer; resolves once it serves. */
  start(id: string): Promise<void> {
    if (this.running.has(id)) return Promise.reject(new Error(`${id} is already running`));
    const m = this.member(id);
    const args = ['peer', '--data', m.dataDir];
    if (!existsSync(join(m.dataDir, 'peer.json'))) {
      const founder = this.members[0] as TlsMember;
      args.push('--id', m.id, '--listen', m.listen, '--client-listen', m.clientAddress);
      if (m === founder) args.push('--create-group', 'bench');
      else {
        if (this.inviteCode === null) throw new Error('found the group first');
        args.push('--join-code', this.inviteCode, '--join', founder.address);
      }
    }
    const logFd = openSync(join(this.options.logDir, `${id}.log`), 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [bin, ...args], {
        stdio: ['ignore', 'pipe', logFd, 'ipc'], detached: true, env: this.options.env ?? process.env,
      });
    } finally {
      closeSync(logFd);
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => {
      this.running.delete(id);
      resolve();
    }));
    this.running.set(id, { child, exited });
    return this.listening(id, child);
  }

  pids(): number[] {
    return [...this.running.values()].flatMap((r) => (r.child.pid === undefined ? [] : [r.child.pid]));
  }

  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const r = this.running.get(id);
    if (r === undefined) return;
    r.child.kill(signal);
    await r.exited;
  }

  async stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.runningIds().map((id) => this.kill(id, signal)));
  }

  private listening(id: string, child: ChildProcess): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start listening within ${timeoutMs} ms`)), timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited (${signal ?? `code ${code}`}) before listening; see ${join(this.options.logDir, `${id}.log`)}`));
      };
      child.once('exit', onExit);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const code = /^invite code: (\S+)$/.exec(line)?.[1];
        if (code !== undefined) this.inviteCode = code;
        if (!line.startsWith('listening on ')) return;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      });
    });
  }
}
