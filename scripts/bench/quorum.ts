// A fresh five-peer Quorum Chat LAN group on loopback (real `quorum-chat peer` processes, peer
// traffic over mutual TLS as people run it: see tls-group.ts), loaded through the ChatService's
// SendStream (on each peer's local client address) as alice writing to bob.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatClient, randomClientId, type StatusReply } from '../../main/cli/chat-client.js';
import { freePorts } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait.js';
import { sendCount } from './measure.js';
import { payload, type BenchSystem, type WriteTarget } from './system.js';
import { TlsGroup, type TlsMember } from './tls-group.js';

const password = 'bench password';

export interface QuorumOptions {
  /** Every peer writes a CPU profile there (see cpu-profile.mjs). */
  readonly profileDir?: string | null;
  /** Passed to every peer as --retain-log. */
  readonly retainLog?: number;
}

export class QuorumGroup implements BenchSystem {
  readonly name = 'quorum-chat';
  private readonly clients = new Map<string, ChatClient>();

  private constructor(private readonly dir: string, private readonly group: TlsGroup, private readonly profiling: boolean) {}

  get memberIds(): string[] {
    return this.group.members.map((m) => m.id);
  }

  /**
   * Starts `size` peers (peer logs in the temp dir), waits for a leader, registers alice and
   * bob. `track` learns of the group before any peer starts (see EtcdCluster.start).
   */
  static async start(size: number, track: (s: BenchSystem) => void, options: QuorumOptions = {}): Promise<QuorumGroup> {
    const profileDir = options.profileDir ?? null;
    const dir = mkdtempSync(join(tmpdir(), 'bench-quorum-'));
    const ports = await freePorts(2 * size);
    // Peers bind every interface, as people run them (with mDNS on the LAN interfaces; a peer
    // bound to 127.0.0.1 would run none). Traffic between local addresses stays on the loopback
    // device anyway.
    const members: TlsMember[] = Array.from({ length: size }, (_, i) => ({
      id: `peer${i + 1}`, address: `127.0.0.1:${ports[2 * i] as number}`, listen: `0.0.0.0:${ports[2 * i] as number}`, clientAddress: `127.0.0.1:${ports[2 * i + 1] as number}`,
      dataDir: join(dir, `peer${i + 1}`),
    }));
    const group = new QuorumGroup(dir, new TlsGroup(members, { logDir: dir, env: peerEnv(profileDir), retainLog: options.retainLog }), profileDir !== null);
    track(group);
    try {
      await group.group.found();
      await waitFor(async () => {
        const s = await group.client(members[0]?.id as string).status().catch(() => null);
        return s !== null && s.members.filter((m) => m.role === 'voter').length === size ? true : undefined;
      }, `autopilot to promote all ${size} peers to voters`, { timeoutMs: 60_000, intervalMs: 100 });
      const leader = group.client(await group.leader());
      await leader.register({ clientId: randomClientId(), seq: 1 }, 'alice', password);
      await leader.register({ clientId: randomClientId(), seq: 1 }, 'bob', password);
    } catch (err) {
      await group.destroy();
      throw err;
    }
    return group;
  }

  async leader(): Promise<string> {
    return waitFor(async () => {
      const statuses = await Promise.all(this.group.runningIds().map((id) => this.client(id).status()));
      const leaders = new Set(statuses.map((s) => s.leader));
      const leader = statuses.find((s) => s.role === 'leader');
      return leaders.size === 1 && leader !== undefined && caughtUp(statuses, leader) ? leader.id : undefined;
    }, 'the Quorum Chat group to have one leader', { timeoutMs: 30_000, intervalMs: 20 });
  }

  /**
   * One SendStream for all senders: the hot client path the design recommends. Each logical
   * sender is its own client session (client id + seq), numbered in order.
   */
  async target(id: string): Promise<WriteTarget> {
    const { token } = await this.client(id).login({ clientId: randomClientId(), seq: 1 }, 'alice', password);
    const client = new ChatClient(this.group.member(id).clientAddress, { credentials: { token }, deadlineMs: 30_000 });
    const stream = client.sendStream();
    const base = randomClientId();
    const seqs = new Map<number, number>();
    return {
      write: async (sender) => {
        const seq = (seqs.get(sender) ?? 0) + 1;
        seqs.set(sender, seq);
        await stream.send({ clientId: `${base}-${sender}`, seq }, 'bob', payload);
      },
      close: () => {
        stream.close();
        client.close();
      },
    };
  }

  /**
   * Kills a follower, sends `count` messages through the leader, restarts the follower and
   * returns the milliseconds from its restart until it has applied everything the leader had
   * committed (so it serves every one of those messages from its own replica).
   */
  async catchup(count: number): Promise<number> {
    const leader = await this.leader();
    const lagging = this.memberIds.find((id) => id !== leader) as string;
    await this.kill(lagging);
    const target = await this.target(leader);
    try {
      await sendCount(target, 64, count);
    } finally {
      target.close();
    }
    const { commitIndex } = await this.client(leader).status();
    const restartedAt = performance.now();
    await this.group.start(lagging);
    await waitFor(async () => Number((await this.client(lagging).status()).appliedIndex) >= Number(commitIndex),
      `${lagging} to catch up`, { timeoutMs: 300_000, intervalMs: 10 });
    return Math.round(performance.now() - restartedAt);
  }

  /**
   * Stores `count` more messages and stops every peer (gracefully). Then restarts them one at a
   * time, each alone on the machine as on its own computer, timing spawn → serving (the
   * slowest is `startMs`); then stops them and starts all five at once (`allAtOnceMs`: five
   * processes loading on this machine's cores at the same time). Also the largest peak RSS
   * (VmHWM) of a peer once the group has a leader again.
   */
  async startup(count: number): Promise<{ messages: number; startMs: number; allAtOnceMs: number; peakRssMb: number }> {
    const target = await this.target(await this.leader());
    try {
      await sendCount(target, 64, count);
    } finally {
      target.close();
    }
    await this.group.stopAll('SIGTERM');
    let startMs = 0;
    for (const id of this.memberIds) {
      const startedAt = performance.now();
      await this.group.start(id);
      startMs = Math.max(startMs, Math.round(performance.now() - startedAt));
    }
    await this.leader();
    await this.group.stopAll('SIGTERM');
    const startedAt = performance.now();
    await Promise.all(this.memberIds.map((id) => this.group.start(id)));
    const allAtOnceMs = Math.round(performance.now() - startedAt);
    await this.leader();
    const pids = await Promise.all(this.memberIds.map(async (id) => (await this.client(id).status()).pid));
    return { messages: count, startMs, allAtOnceMs, peakRssMb: Math.max(...pids.map(peakRssMb)) };
  }

  async pids(): Promise<number[]> {
    return this.group.pids();
  }

  async kill(id: string): Promise<void> {
    await this.group.kill(id, 'SIGKILL');
  }

  async restart(id: string): Promise<void> {
    await this.group.start(id);
    await this.leader();
  }

  async destroy(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    // A profiled peer writes its profile only on a graceful exit.
    await this.group.stopAll(this.profiling ? 'SIGTERM' : 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private client(id: string): ChatClient {
    let client = this.clients.get(id);
    if (client === undefined) {
      client = new ChatClient(this.group.member(id).clientAddress, { deadlineMs: 2_000 });
      this.clients.set(id, client);
    }
    return client;
  }
}

/**
 * Autopilot promotes a joined learner after 1 s of health instead of 10 s (the same rule, a
 * shorter set-up). With a profile directory, every peer preloads cpu-profile.mjs (see there).
 */
function peerEnv(profileDir: string | null): NodeJS.ProcessEnv {
  const env = { ...process.env, QC_AUTOPILOT_STABILIZATION_MS: '1000' };
  if (profileDir === null) return env;
  const preload = fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url));
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --import ${preload}`.trim();
  return { ...env, NODE_OPTIONS: nodeOptions, QC_BENCH_PROFILE_DIR: resolve(profileDir) };
}

function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? Number.NaN : Math.round(Number(kb) / 1024);
}

/** Every running peer has applied what the leader has committed (a restarted peer caught up). */
function caughtUp(statuses: readonly StatusReply[], leader: StatusReply): boolean {
  return statuses.every((s) => Number(s.appliedIndex) >= Number(leader.commitIndex));
}
