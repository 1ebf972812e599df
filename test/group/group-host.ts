// A `quorum-chat` process inside a test host's network namespace, with its stdout lines kept
// (peers print `invite code: …`, `listening on …`, `clients on …`). stop() SIGTERMs it (a clean
// stop) and SIGKILLs it if it lingers; the namespace teardown kills anything left anyway.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { canCreateNamespaces, TestNetwork, type Host } from '../netns/network.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { waitFor } from '../helpers/wait.js';

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));

export class CliProcess {
  readonly lines: string[] = [];
  private stderr = '';
  private exited = false;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(net: TestNetwork, host: Host, args: readonly string[], env: Record<string, string> = {}) {
    const [cmd, argv] = net.argv(host, process.execPath, [bin, ...args]);
    this.child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.lines.push(line));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-20_000)));
    this.child.on('exit', () => (this.exited = true));
  }

  /** The first capture group of the first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return waitFor(() => {
      if (this.exited) throw new Error(`exited; stderr:\n${this.stderr}`);
      for (const l of this.lines) {
        const m = pattern.exec(l);
        if (m !== null) return m[1] ?? m[0];
      }
      return undefined;
    }, `a line matching ${pattern}`, { timeoutMs, intervalMs: 50 });
  }

  get errorOutput(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    try {
      await waitFor(() => this.exited, 'the peer to stop', { timeoutMs: 10_000, intervalMs: 50 });
    } catch {
      this.child.kill('SIGKILL');
    }
  }
}

/** Runs `quorum-chat ARGS` to completion inside the host (exit code and stdout). */
export function runCli(net: TestNetwork, host: Host, args: readonly string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = net.argv(host, process.execPath, [bin, ...args]);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface GroupStatus {
  readonly id: string;
  readonly leader: string | null;
  readonly voters: string[];
  readonly learners: string[];
  readonly appliedIndex: number;
  readonly autopilot: { action: string; node: string; reason: string; outcome: string }[];
  readonly members: { id: string; address: string; role: string; reachable: boolean }[];
}

/** `status --json` of the peer in `host`, through its local client address; null if it fails. */
export function statusOf(net: TestNetwork, host: Host, clientAddress = '127.0.0.1:7401'): GroupStatus | null {
  const r = runCli(net, host, ['status', '--peer', clientAddress, '--json']);
  return r.status === 0 ? JSON.parse(r.stdout) as GroupStatus : null;
}

/** Peers in namespaces for one test: started, and all stopped (cleanly) by stopAll(). */
export class GroupHosts {
  readonly peers = new Map<Host, CliProcess>();
  readonly extra: CliProcess[] = [];

  constructor(private readonly net: TestNetwork, private readonly dir: string, private readonly env: Record<string, string>) {}

  /** `quorum-chat peer --data DIR/h<i> ARGS` in the host (mDNS re-queried every second). */
  start(host: Host, args: readonly string[] = []): CliProcess {
    const p = new CliProcess(this.net, host, ['peer', '--data', this.dataDir(host), '--mdns-requery-ms', '1000', ...args], this.env);
    this.peers.set(host, p);
    return p;
  }

  dataDir(host: Host): string {
    return join(this.dir, `h${host.index}`);
  }

  /** Founds a group on the first host, joins the others by invite code; returns the code. */
  async found(hosts: readonly Host[]): Promise<string> {
    const [first, ...others] = hosts as [Host, ...Host[]];
    const code = await this.start(first, ['--create-group', 'lan test']).line(/^invite code: (qc1-\S+)$/);
    for (const host of others) this.start(host, ['--join-code', code]);
    return code;
  }

  /** Polls the status of `host` until `ready` holds (every half second). */
  until(host: Host, ready: (s: GroupStatus) => boolean, what: string, timeoutMs = 30_000): Promise<GroupStatus> {
    return waitFor(() => {
      const s = statusOf(this.net, host);
      return s !== null && ready(s) ? s : undefined;
    }, what, { timeoutMs, intervalMs: 500 });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.peers.values(), ...this.extra].map((p) => p.stop()));
  }
}

/**
 * A network of `hosts` namespaces and a GroupHosts on it, both torn down after the test
 * (checking that nothing is left); null, with the test skipped, where namespaces cannot be made.
 */
export function groupNetwork(t: TestContext, hosts: number, env: Record<string, string>): { net: TestNetwork; group: GroupHosts; dir: string } | null {
  const probe = canCreateNamespaces();
  if (!probe.ok) {
    t.skip(`needs root and ip netns: ${probe.reason}`);
    return null;
  }
  const net = TestNetwork.create({ hosts });
  const dir = mkdtempSync(join(tmpdir(), 'quorum-'));
  const group = new GroupHosts(net, dir, env);
  t.after(async () => {
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true }); // once no peer can write into it again
    assert.deepEqual(net.destroy(), [], 'every namespace, veth and bridge removed');
  });
  return { net, group, dir };
}
