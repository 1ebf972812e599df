// A group of `quorum-chat peer` child processes on this machine: start, SIGKILL, restart any
// one of them, stop them all. Used by `quorum-chat cluster`, by the real-process cluster tests
// and by scripts/failover.ts. Children hold an IPC channel to this process and stop when it
// closes, so they never outlive it, even when it is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));

export interface GroupMember {
  readonly id: string;
  readonly address: string;
  readonly dataDir: string;
}

export interface LocalGroupOptions {
  /** Passed to every peer as --snapshot-every. */
  readonly snapshotEvery?: number;
  /** Passed to every peer as --retain-log. */
  readonly retainLog?: number;
  /** Passed to every peer as --replay-entry-bytes. */
  readonly replayEntryBytes?: number;
  /** Each peer's standard error goes to `<logDir>/<id>.log` (appended) instead of ours. */
  readonly logDir?: string;
  /** Every line a peer prints on standard output. */
  readonly onLine?: (id: string, line: string) => void;
  readonly onExit?: (id: string, code: number | null, signal: NodeJS.Signals | null) => void;
  /** How long a peer may take to print "listening on" (default 30 s). */
  readonly startTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Peer i (1-based) also serves the UI on 127.0.0.1 at this port + i - 1 (`--ui-port`); 0: any free port each. */
  readonly uiBasePort?: number;
  /** The flags of a member's first start (default: a static group of all members, `--peers`). */
  readonly firstStartArgs?: (member: GroupMember) => string[];
}

export interface PeerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<PeerExit>;
}

/** peer1..peerN on 127.0.0.1, ports base..base+N-1, data in dir/peer<i>. */
export function localMembers(size: number, dir: string, basePort: number): GroupMember[] {
  return Array.from({ length: size }, (_, i) => ({
    id: `peer${i + 1}`, address: `127.0.0.1:${basePort + i}`, dataDir: join(dir, `peer${i + 1}`),
  }));
}

export class LocalGroup {
  private readonly running = new Map<string, Running>();

  constructor(readonly members: readonly GroupMember[], private readonly options: LocalGroupOptions = {}) {}

  member(id: string): GroupMember {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  runningIds(): string[] {
    return this.members.map((m) => m.id).filter((id) => this.running.has(id));
  }

  startAll(): Promise<void> {
    return Promise.all(this.members.map((m) => this.start(m.id))).then(() => undefined);
  }

  /**
   * Starts one peer and resolves once it serves ("listening on"). A restart passes only
   * --data: the peer reads everything else from its peer.json, as a person restarting it would.
   * `env` adds to the group's environment for this start only (a test's crash point).
   */
  start(id: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
    if (this.running.has(id)) return Promise.reject(new Error(`${id} is already running`));
    const m = this.member(id);
    const child = this.spawn(id, this.args(m), env);
    const exited = new Promise<PeerExit>((resolve) => child.once('exit', (code, signal) => {
      this.running.delete(id);
      this.options.onExit?.(id, code, signal);
      resolve({ code, signal });
    }));
    this.running.set(id, { child, exited });
    return this.listening(id, child);
  }

  /** Sends `signal` (SIGKILL by default) and waits until the process is gone; null if it was not running. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<PeerExit | null> {
    const r = this.running.get(id);
    if (r === undefined) return null;
    r.child.kill(signal);
    return r.exited;
  }

  /** Stops every running peer with `signal` (SIGTERM: graceful) and waits for all to exit. */
  async stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<Map<string, PeerExit>> {
    const ids = this.runningIds();
    const exits = await Promise.all(ids.map((id) => this.kill(id, signal)));
    return new Map(ids.map((id, i) => [id, exits[i] as PeerExit]));
  }

  /** Process ids of the running peers (for CPU and memory figures). */
  pids(): number[] {
    return [...this.running.values()].flatMap((r) => (r.child.pid === undefined ? [] : [r.child.pid]));
  }

  /** Resolves once no peer of the group runs any more. */
  async whenAllExited(): Promise<void> {
    while (this.running.size > 0) await Promise.race([...this.running.values()].map((r) => r.exited));
  }

  private args(m: GroupMember): string[] {
    const args = ['peer', '--data', m.dataDir];
    if (!existsSync(join(m.dataDir, 'peer.json'))) args.push(...(this.options.firstStartArgs?.(m) ?? this.staticArgs(m)));
    if (this.options.snapshotEvery !== undefined) args.push('--snapshot-every', String(this.options.snapshotEvery));
    if (this.options.retainLog !== undefined) args.push('--retain-log', String(this.options.retainLog));
    if (this.options.replayEntryBytes !== undefined) args.push('--replay-entry-bytes', String(this.options.replayEntryBytes));
    if (this.options.uiBasePort !== undefined) args.push('--ui-port', String(this.uiPort(m)));
    return args;
  }

  private staticArgs(m: GroupMember): string[] {
    return ['--id', m.id, '--listen', m.address, '--peers', this.members.map((x) => `${x.id}=${x.address}`).join(',')];
  }

  /** 0 asks each peer for any free port (it prints its URL); else base + position. */
  private uiPort(m: GroupMember): number {
    const base = this.options.uiBasePort ?? 0;
    return base === 0 ? 0 : base + this.members.indexOf(m);
  }

  /**
   * Its own process group, so that a Ctrl-C in the terminal reaches only the parent, which then
   * stops each child once (a peer takes a second signal as "exit now, skip the handover").
   */
  private spawn(id: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
    const logFd = this.options.logDir === undefined ? null : openSync(join(this.options.logDir, `${id}.log`), 'a');
    try {
      return spawn(process.execPath, [bin, ...args], {
        stdio: ['ignore', 'pipe', logFd ?? 'inherit', 'ipc'], detached: true, env: { ...(this.options.env ?? process.env), ...env },
      });
    } finally {
      if (logFd !== null) closeSync(logFd);
    }
  }

  private listening(id: string, child: ChildProcess): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start listening within ${timeoutMs} ms`)), timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited (${signal ?? `code ${code}`}) before listening`));
      };
      child.once('exit', onExit);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        this.options.onLine?.(id, line);
        if (!line.startsWith('listening on ')) return;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      });
    });
  }
}
