// A fresh five-member etcd cluster on loopback (Debian's etcd-server, installed when missing),
// driven over native gRPC with the few messages of etcd.proto.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { freePorts } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait.js';
import { payload, type BenchSystem, type WriteTarget } from './system.js';

type Callback = (err: grpc.ServiceError | null, reply: Record<string, unknown>) => void;
type Unary = (request: object, options: grpc.CallOptions, callback: Callback) => void;
type EtcdClient = grpc.Client & Record<string, Unary>;

interface EtcdMember {
  readonly id: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
}

const protoPath = fileURLToPath(new URL('./etcd.proto', import.meta.url));
// Keys and values as bytes, ids as decimal strings (etcd member ids are full 64-bit numbers).
const services = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { longs: String }))
  .etcdserverpb as unknown as { KV: grpc.ServiceClientConstructor; Maintenance: grpc.ServiceClientConstructor };

// Members come and go (start-up, failover): reconnect within a second, not grpc's default 120 s.
const channelOptions: grpc.ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 };

/** Installs Debian's etcd-server when `etcd` is not on the PATH; returns `etcd --version`'s first line. */
export function ensureEtcd(log: (line: string) => void): string {
  if (spawnSync('etcd', ['--version']).status !== 0) {
    log('etcd not found: installing Debian\'s etcd-server with apt-get (needs root)');
    const install = () => spawnSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: 'inherit' }).status === 0;
    // A fresh machine has no package lists yet; update only when the first attempt fails.
    if (!install() && (spawnSync('apt-get', ['update'], { stdio: 'inherit' }).status !== 0 || !install())) {
      throw new Error('could not install etcd-server with apt-get');
    }
  }
  const version = spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout;
  return /etcd Version: (\S+)/.exec(version)?.[1] ?? version.split('\n')[0] ?? 'unknown';
}

export class EtcdCluster implements BenchSystem {
  readonly name = 'etcd';
  private readonly children = new Map<string, ChildProcess>();
  private readonly statusClients = new Map<string, EtcdClient>();

  private constructor(private readonly dir: string, private readonly members: readonly EtcdMember[]) {}

  get memberIds(): string[] {
    return this.members.map((m) => m.id);
  }

  /**
   * Starts `size` members with default settings (fsync on) and waits until one leads. `track`
   * learns of the cluster before any process starts, so an interrupt during start-up stops it too.
   */
  static async start(size: number, track: (s: BenchSystem) => void): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'bench-etcd-'));
    const ports = await freePorts(size * 2);
    const members = Array.from({ length: size }, (_, i) => ({
      id: `etcd${i + 1}`, clientUrl: `http://127.0.0.1:${ports[2 * i]}`, peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: join(dir, `etcd${i + 1}`),
    }));
    const cluster = new EtcdCluster(dir, members);
    track(cluster);
    try {
      for (const m of members) cluster.spawn(m);
      await cluster.leader();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  async leader(): Promise<string> {
    return waitFor(async () => {
      const running = this.members.filter((m) => this.children.has(m.id));
      const statuses = await Promise.all(running.map((m) => this.status(m.id)));
      const leaders = new Set(statuses.map((s) => String(s.leader)));
      const leader = statuses.find((s) => leaders.size === 1 && (s.header as Record<string, unknown>).memberId === s.leader);
      return leader === undefined ? undefined : running[statuses.indexOf(leader)]?.id;
    }, 'etcd to elect a leader', { timeoutMs: 30_000, intervalMs: 20 });
  }

  async target(id: string): Promise<WriteTarget> {
    const client = new services.KV(this.member(id).clientUrl.slice('http://'.length), grpc.credentials.createInsecure(), channelOptions) as EtcdClient;
    const value = Buffer.from(payload);
    return {
      write: (sender) => call(client, 'put', { key: Buffer.from(`bench/${sender}`), value }).then(() => undefined),
      close: () => client.close(),
    };
  }

  async pids(): Promise<number[]> {
    return [...this.children.values()].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  async kill(id: string): Promise<void> {
    const child = this.children.get(id);
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(id: string): Promise<void> {
    this.spawn(this.member(id));
    await waitFor(() => this.status(id).then(() => true), `${id} to serve again`, { timeoutMs: 30_000, intervalMs: 20 });
    await this.leader();
  }

  async destroy(): Promise<void> {
    for (const c of this.statusClients.values()) c.close();
    this.statusClients.clear();
    await Promise.all(this.memberIds.map((id) => this.kill(id)));
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private member(id: string): EtcdMember {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no etcd member ${id}`);
    return m;
  }

  private status(id: string): Promise<Record<string, unknown>> {
    let client = this.statusClients.get(id);
    if (client === undefined) {
      client = new services.Maintenance(this.member(id).clientUrl.slice('http://'.length), grpc.credentials.createInsecure(), channelOptions) as EtcdClient;
      this.statusClients.set(id, client);
    }
    return call(client, 'status', {}, 1_000);
  }

  /** A restart passes the same flags: etcd ignores the --initial-* ones once its data dir exists. */
  private spawn(m: EtcdMember): void {
    const cluster = this.members.map((x) => `${x.id}=${x.peerUrl}`).join(',');
    const log = openSync(join(this.dir, `${m.id}.log`), 'a');
    const child = spawn('etcd', [
      '--name', m.id, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bench',
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.children.set(m.id, child);
    child.once('exit', () => this.children.delete(m.id));
  }
}

function call(client: EtcdClient, method: string, request: object, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const fn = client[method] as Unary;
  return new Promise((resolve, reject) => {
    fn.call(client, request, { deadline: Date.now() + timeoutMs }, (err, reply) => (err === null ? resolve(reply) : reject(err)));
  });
}
