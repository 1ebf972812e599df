// An in-process group of peers on loopback, each serving peer RPCs and the ChatService on one
// port, with fast LAN timing and cheap scrypt. stop() (call it in an after hook) stops every
// peer still running and removes the data directories, whatever state the test left.
import { mkdtempSync, rmSync } from 'node:fs';
import { freePorts } from './ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeerServer, type PeerServer } from '../../main/api/peer-server.js';
import type { SessionLimits } from '../../main/chat/sessions.js';
import { groupTls, writeGroupConfig } from '../../main/peer/group-files.js';
import { membershipHandlers } from '../../main/peer/join.js';
import type { PeerTiming } from '../../main/peer/peer.js';
import type { PeerTls } from '../../main/security/tls.js';
import { testScrypt } from './chat-replica.js';
import { waitFor } from './wait.js';

/** Elections in 100–200 ms: a leader within a fraction of a second, failover as fast. */
const fastTiming: PeerTiming = { tickMs: 10, electionTicks: 10, heartbeatTicks: 2 };

export interface GroupOptions {
  readonly size?: number;
  /** A write (or a read barrier) that cannot complete in this time fails. */
  readonly writeTimeoutMs?: number;
  /** Make it a group peer set: mutual TLS with certificates from this group secret. */
  readonly secret?: Buffer;
  /** With a secret: also serve the Join and Leave RPCs (a member forwards removals to the leader). */
  readonly membership?: boolean;
  /** A peer stopped on a storage failure (default: the error is thrown, uncaught). */
  readonly onFatal?: (id: string, err: Error) => void;
  /** PeerOptions.lazyApplyMs for every peer. */
  readonly lazyApplyMs?: number;
  /** PeerOptions.commitNoticeMs for every peer. */
  readonly commitNoticeMs?: number;
  /** PeerOptions.sessionLimits for every peer. */
  readonly sessionLimits?: SessionLimits;
}

async function tlsFor(dataDir: string, secret: Buffer, id: string): Promise<PeerTls> {
  return (await groupTls(dataDir, writeGroupConfig(dataDir, secret, 'test group'), id)).tls;
}

export class PeerGroup {
  private readonly stopped = new Set<number>();

  private constructor(
    readonly servers: PeerServer[], readonly addresses: string[], private readonly dir: string,
    private readonly startOne: (i: number) => Promise<PeerServer>,
  ) {}

  static async start(options: GroupOptions = {}): Promise<PeerGroup> {
    const size = options.size ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'quorum-group-'));
    const ids = Array.from({ length: size }, (_, i) => `p${i + 1}`);
    const addresses = (await freePorts(ids.length)).map((port) => `127.0.0.1:${port}`);
    const peers = new Map(ids.map((id, i) => [id, addresses[i] as string]));
    const startOne = async (i: number) => {
      const id = ids[i] as string;
      return startPeerServer({
        dataDir: join(dir, id), id, listen: addresses[i] as string, peers,
        timing: fastTiming, writeTimeoutMs: options.writeTimeoutMs, scrypt: testScrypt,
        tls: options.secret === undefined ? undefined : await tlsFor(join(dir, id), options.secret, id),
        membership: options.membership === true ? membershipHandlers : undefined,
        onFatal: options.onFatal === undefined ? undefined : (err: Error) => options.onFatal?.(id, err),
        lazyApplyMs: options.lazyApplyMs, commitNoticeMs: options.commitNoticeMs, sessionLimits: options.sessionLimits,
      });
    };
    const started = await Promise.allSettled(ids.map((_, i) => startOne(i)));
    const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const group = new PeerGroup(servers, addresses, dir, startOne);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      await group.stop();
      throw (failed as PromiseRejectedResult).reason;
    }
    await group.leader();
    return group;
  }

  /** The index of the peer every running peer agrees leads. */
  async leader(): Promise<number> {
    return waitFor(() => {
      const running = this.running();
      const leaders = new Set(running.map((i) => this.servers[i]?.peer.leaderId()));
      const [id] = leaders;
      if (leaders.size !== 1 || id === null || id === undefined) return undefined;
      const at = this.servers.findIndex((s) => s.peer.id === id);
      return running.includes(at) ? at : undefined;
    }, 'one leader that every running peer knows');
  }

  dataDir(i: number): string {
    return join(this.dir, `p${i + 1}`);
  }

  server(i: number): PeerServer {
    const server = this.servers[i];
    if (server === undefined) throw new Error(`no peer ${i}`);
    return server;
  }

  /** Stops one peer (a leader hands over first). */
  async stopPeer(i: number): Promise<void> {
    this.stopped.add(i);
    await this.server(i).stop(500);
  }

  /** Starts a stopped peer again, on its data directory and address. */
  async restartPeer(i: number): Promise<PeerServer> {
    if (!this.stopped.has(i)) throw new Error(`peer ${i} is running`);
    const server = await this.startOne(i);
    this.servers[i] = server;
    this.stopped.delete(i);
    return server;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.running().map((i) => this.stopPeer(i)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private running(): number[] {
    return this.servers.map((_, i) => i).filter((i) => !this.stopped.has(i));
  }
}
