// A child process that speaks JSON lines: requests on stdin, one object per stdout line.
// Every wait is bounded and ends early if the child exits; stop() kills it (call it in an
// after hook, so that no child outlives its test).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Line = Record<string, unknown>;

interface Waiter {
  readonly predicate: (line: Line) => boolean;
  readonly resolve: (line: Line) => void;
  readonly reject: (err: Error) => void;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class JsonChild {
  readonly lines: Line[] = [];
  private readonly waiters = new Set<Waiter>();
  private stderr = '';
  private exitInfo: Exit | null = null;
  readonly exited: Promise<Exit>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (text) => this.receive(text));
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        for (const w of this.waiters) w.reject(new Error(`child exited (${signal ?? code}) while waiting; stderr:\n${this.stderr}`));
        this.waiters.clear();
        resolve(this.exitInfo);
      });
    });
  }

  /** Runs a TypeScript script (through tsx) with extra environment variables. */
  static start(script: string, args: readonly string[], env: Record<string, string> = {}): JsonChild {
    return JsonChild.spawn(process.execPath, ['--import', 'tsx', script, ...args], env);
  }

  /** Runs any command that speaks JSON lines (e.g. `ip netns exec NS node ...`). */
  static spawn(command: string, args: readonly string[], env: Record<string, string> = {}): JsonChild {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    return new JsonChild(child);
  }

  send(request: object): void {
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
  }

  /** The first line from lines[from] on (received or to come) that satisfies `predicate`. */
  next(predicate: (line: Line) => boolean, what: string, { from = 0, timeoutMs = 20_000 } = {}): Promise<Line> {
    const seen = this.lines.slice(from).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.exitInfo !== null) return Promise.reject(new Error(`child already exited, never saw ${what}; stderr:\n${this.stderr}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (line) => { clearTimeout(timer); resolve(line); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits for the child to exit on its own. */
  async exit(timeoutMs = 20_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`child still running after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` if the child still runs (see exit() to wait for it). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo === null) this.child.kill(signal);
  }

  /** Kills the child if it still runs and waits until it is gone. */
  async stop(): Promise<void> {
    if (this.exitInfo === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  get errorOutput(): string {
    return this.stderr;
  }

  private receive(text: string): void {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      this.stderr += `(stdout, not JSON) ${text}\n`;
      return;
    }
    this.lines.push(line);
    for (const w of this.waiters) {
      if (w.predicate(line)) {
        this.waiters.delete(w);
        w.resolve(line);
      }
    }
  }
}
