// A real group for tests: N `quorum-chat peer` processes on free loopback ports, each with its
// own data directory under one temporary directory. Waits are on conditions (status polled
// through the ChatService), never sleeps. destroy() SIGKILLs every child, closes every client
// and removes the directory; register it with after()/t.after() before anything can fail.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePorts } from '../helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chatSchema } from '../../main/chat/migrations/index.js';
import { ChatClient, type ChatClientOptions, type StatusReply } from '../../main/cli/chat-client.js';
import { LocalGroup, type GroupMember } from '../../main/cli/local-group.js';
import { canonicalHash } from '../../main/storage/hash.js';
import { openDatabase } from '../../main/storage/sqlite.js';
import { waitFor } from '../helpers/wait.js';

export interface TestClusterOptions {
  readonly size?: number;
  readonly snapshotEvery?: number;
  /** --replay-entry-bytes of each peer (0: a follower inside the kept entries is always sent them). */
  readonly replayEntryBytes?: number;
  /** The group's directory (it must exist, and the caller removes it): peer i's data is in <dir>/peer<i>. */
  readonly dir?: string;
}

/** What a stopped replica holds: its canonical hash and how often each message text occurs. */
export interface ReplicaContents {
  readonly hash: string;
  readonly appliedIndex: number;
  readonly textCounts: ReadonlyMap<string, number>;
}

export class TestCluster {
  private readonly clients: ChatClient[] = [];
  private readonly statusClients = new Map<string, ChatClient>();

  private constructor(readonly dir: string, readonly group: LocalGroup, private readonly ownsDir: boolean) {}

  /** Starts the group and waits until it has a leader. */
  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'quorum-cluster-'));
    const ports = await freePorts(options.size ?? 5);
    const members: GroupMember[] = ports.map((port, i) => ({
      id: `peer${i + 1}`, address: `127.0.0.1:${port}`, dataDir: join(dir, `peer${i + 1}`),
    }));
    const group = new LocalGroup(members, { snapshotEvery: options.snapshotEvery, replayEntryBytes: options.replayEntryBytes, logDir: dir });
    const cluster = new TestCluster(dir, group, options.dir === undefined);
    try {
      await group.startAll();
      await cluster.leader();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  get ids(): string[] {
    return this.group.members.map((m) => m.id);
  }

  address(id: string): string {
    return this.group.member(id).address;
  }

  /** A client of one peer, closed by destroy(). */
  client(id: string, options: ChatClientOptions = {}): ChatClient {
    const client = new ChatClient(this.address(id), { deadlineMs: 10_000, ...options });
    this.clients.push(client);
    return client;
  }

  status(id: string): Promise<StatusReply> {
    let client = this.statusClients.get(id);
    if (client === undefined) {
      client = this.client(id, { deadlineMs: 2_000 });
      this.statusClients.set(id, client);
    }
    return client.status();
  }

  /** Status of every running peer that answers (a peer that does not is left out). */
  async statuses(): Promise<StatusReply[]> {
    const replies = await Promise.allSettled(this.group.runningIds().map((id) => this.status(id)));
    return replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /**
   * Waits until a running peer leads and every other running peer that answers follows it in
   * the same term; returns the leader's status.
   */
  leader(options: { timeoutMs?: number; notIn?: readonly string[]; intervalMs?: number } = {}): Promise<StatusReply> {
    return waitFor(async () => {
      const all = await this.statuses();
      const leader = all.find((s) => s.role === 'leader' && !(options.notIn ?? []).includes(s.id));
      if (leader === undefined) return undefined;
      return all.every((s) => s.leader === leader.id && s.term === leader.term) ? leader : undefined;
    }, 'a leader all running peers agree on', { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: options.intervalMs ?? 50 });
  }

  /** Waits until every running peer has applied everything the leader has committed. */
  async converged(timeoutMs = 60_000): Promise<number> {
    return waitFor(async () => {
      const all = await this.statuses();
      if (all.length !== this.group.runningIds().length) return undefined;
      const leader = all.find((s) => s.role === 'leader');
      if (leader === undefined) return undefined;
      return all.every((s) => s.appliedIndex === leader.commitIndex && s.commitIndex === leader.commitIndex)
        ? leader.commitIndex : undefined;
    }, 'every running peer to apply all that is committed', { timeoutMs, intervalMs: 100 });
  }

  async kill(id: string): Promise<void> {
    await this.group.kill(id, 'SIGKILL');
  }

  /** Starts a stopped peer again from its data directory; `env` for this start only. */
  restart(id: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
    return this.group.start(id, env);
  }

  /**
   * Reads every replica's chat.db. Call with the group stopped gracefully after converged():
   * a stopping peer commits what it applied (a SIGKILL leaves the last few milliseconds of
   * applies to the next start, which re-applies them from raft.db).
   */
  replicas(): Map<string, ReplicaContents> {
    if (this.group.runningIds().length > 0) throw new Error('stop the group before reading its replicas');
    return new Map(this.group.members.map((m) => [m.id, readReplica(join(m.dataDir, 'chat.db'))]));
  }

  /** The last lines a peer logged, to explain a failure. */
  logTail(id: string, lines = 30): string {
    return this.log(id).trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Everything a peer logged (its standard error, JSON lines), or '(no log)'. */
  log(id: string): string {
    try {
      return readFileSync(join(this.dir, `${id}.log`), 'utf8');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Kills every peer, closes every client, removes the data (kept with QUORUM_TEST_KEEP_DATA=1)
   * unless the directory was given (TestClusterOptions.dir).
   */
  async destroy(): Promise<void> {
    for (const c of this.clients.splice(0)) c.close();
    await this.group.stopAll('SIGKILL');
    if (this.ownsDir) removeTestData(this.dir);
  }
}

/** Removes a test's data directory, or with QUORUM_TEST_KEEP_DATA=1 says where it is kept. */
export function removeTestData(dir: string): void {
  if (process.env.QUORUM_TEST_KEEP_DATA === '1') console.error(`cluster data and peer logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

function readReplica(path: string): ReplicaContents {
  const db = openDatabase(path, chatSchema);
  try {
    const rows = db.prepare<[], { body: string; n: number }>('SELECT body, count(*) AS n FROM messages GROUP BY body').all();
    const appliedIndex = db.prepare<[], number>('SELECT idx FROM raft_applied').pluck().get() ?? 0;
    return { hash: canonicalHash(db), appliedIndex, textCounts: new Map(rows.map((r) => [r.body, r.n])) };
  } finally {
    db.close();
  }
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));

/** Runs the `quorum-chat` command as a person would; fails the test if it runs over 30 s. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, QUORUM_CHAT_LOG: 'silent', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err !== null && err.killed) reject(new Error(`quorum-chat ${args.join(' ')} ran over 30 s`));
        else resolve({ code: err === null ? 0 : (typeof err.code === 'number' ? err.code : null), stdout, stderr, ms: Date.now() - started });
      });
  });
}
