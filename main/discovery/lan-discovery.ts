// Discovery on the LAN: one mDNS link per usable interface (followed as interfaces come and
// go), a re-query every `requeryMs`, expiry of peers that stopped answering, manual peers,
// and the known-peers cache. Everything it reports is a hint: see README.md.
import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '../log/logger.js';
import { isValidPort, parseAddress, uniqueAddresses } from './addresses.js';
import { identityProblem } from './identity.js';
import { interfaceKey, usableInterfaces, type InterfaceLister, type NetInterface } from './interfaces.js';
import { KnownPeers } from './known-peers.js';
import { MdnsLink, type Announcement, type Link, type LinkFactory } from './mdns-link.js';
import { PeerTable } from './peer-table.js';
import { encodeTxt } from './txt.js';
import type { Advertisement, DiscoveredPeer, Discovery, DiscoveryEvents, ManualPeer, PeerIdentity } from './types.js';

export interface LanDiscoveryOptions {
  /** Where known-peers.json lives; without it nothing is cached. */
  dataDir?: string;
  /** How often every link asks who is there (default 10 s). */
  requeryMs?: number;
  /** A peer not heard for this long is dropped (default three re-query rounds). */
  ttlMs?: number;
  /** How often the interface list is compared with the running links (default 3 s). */
  interfacePollMs?: number;
  /** Cached peers not seen for this long are not loaded (default 30 days). */
  cacheMaxAgeMs?: number;
  /** The clock and the repeating timer (tests drive both by hand). */
  now?: () => number;
  schedule?: Schedule;
  listInterfaces?: InterfaceLister;
  createLink?: LinkFactory;
  logger?: Logger;
}

/** Runs `run` every `ms` until the returned function is called. */
export type Schedule = (ms: number, run: () => void) => () => void;

const every: Schedule = (ms, run) => {
  const timer = setInterval(run, ms);
  return () => clearInterval(timer);
};

const defaults = { requeryMs: 10_000, interfacePollMs: 3_000, cacheMaxAgeMs: 30 * 24 * 3600 * 1000 };

function manualPeerProblem(peer: ManualPeer): string | null {
  if (peer.addresses.length === 0) return 'no address';
  const bad = peer.addresses.find((a) => parseAddress(a) === null);
  return bad === undefined ? identityProblem(peer) : `"${bad}" is not host:port`;
}

export class LanDiscovery extends EventEmitter<DiscoveryEvents> implements Discovery {
  private readonly table: PeerTable;
  private readonly links = new Map<string, Link>();
  private readonly closing = new Set<Promise<void>>();
  private readonly cache: KnownPeers | null;
  private readonly timers: Array<() => void> = [];
  private readonly log: Logger;
  private readonly requeryMs: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private ad: Advertisement | null = null;
  private browsing = false;
  private closed = false;

  constructor(private readonly options: LanDiscoveryOptions = {}) {
    super();
    this.log = options.logger ?? silentLogger;
    this.requeryMs = options.requeryMs ?? defaults.requeryMs;
    this.ttlMs = options.ttlMs ?? 3 * this.requeryMs;
    this.now = options.now ?? (() => Date.now());
    this.table = new PeerTable(this.now);
    for (const event of ['up', 'update', 'down'] as const) {
      this.table.on(event, (peer) => {
        if (event !== 'down') this.remember(peer);
        this.emit(event, peer);
      });
    }
    this.cache = options.dataDir === undefined ? null : new KnownPeers(options.dataDir);
    this.loadCache();
  }

  browse(): void {
    this.start();
    this.browsing = true;
    for (const link of this.links.values()) link.query();
  }

  advertise(record: Advertisement): void {
    encodeTxt(record); // throws on an identity we must not announce, before anything changes
    if (!isValidPort(record.port)) throw new Error(`cannot advertise: port ${record.port} is not 1-65535`);
    this.ad = { ...record };
    this.start();
    for (const link of this.links.values()) link.advertise(this.ad);
    // Peers of this group found before we knew our group belong in the cache too.
    for (const peer of this.table.list()) this.remember(peer);
  }

  addPeer(peer: ManualPeer): void {
    const problem = manualPeerProblem(peer);
    if (problem !== null) throw new Error(`cannot add peer: ${problem}`);
    this.table.put('manual', peer, uniqueAddresses([peer.addresses]));
  }

  removePeer(groupId: string, nodeId: string): void {
    this.table.remove('manual', groupId, nodeId);
  }

  list(): DiscoveredPeer[] {
    return this.table.list();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.timers) stop();
    for (const key of [...this.links.keys()]) this.dropLink(key);
    await Promise.all(this.closing);
    // Refreshes only move lastSeen, which is not worth a write each time: record it now.
    for (const peer of this.table.list()) this.remember(peer);
    if (this.cache !== null && this.cache.list().length > 0) this.saveCache();
  }

  /** Compares the usable interfaces with the running links: new ones get a link, gone ones lose theirs. */
  private refreshInterfaces(): void {
    if (this.closed) return;
    let current: NetInterface[];
    try {
      current = (this.options.listInterfaces ?? usableInterfaces)();
    } catch (err) {
      this.log.warn({ err }, 'cannot list network interfaces');
      return;
    }
    const wanted = new Map(current.map((iface) => [interfaceKey(iface), iface]));
    for (const key of this.links.keys()) if (!wanted.has(key)) this.dropLink(key);
    for (const [key, iface] of wanted) if (!this.links.has(key)) this.addLink(key, iface);
  }

  private start(): void {
    if (this.timers.length > 0 || this.closed) return;
    this.refreshInterfaces();
    const schedule = this.options.schedule ?? every;
    this.timers.push(schedule(this.requeryMs, () => this.requery()));
    this.timers.push(schedule(this.options.interfacePollMs ?? defaults.interfacePollMs, () => this.refreshInterfaces()));
  }

  /** One round: drop who stopped answering, then ask again. */
  private requery(): void {
    this.table.sweep();
    if (this.browsing) for (const link of this.links.values()) link.query();
  }

  private addLink(key: string, iface: NetInterface): void {
    const sink = { seen: (a: Announcement) => this.seen(a), gone: (identity: PeerIdentity) => this.gone(identity) };
    let link: Link;
    try {
      link = (this.options.createLink ?? ((i, s, l) => new MdnsLink(i, s, l)))(iface, sink, this.log);
    } catch (err) {
      this.log.warn({ err, iface: iface.name }, 'cannot start mdns on interface');
      return;
    }
    this.links.set(key, link);
    this.log.debug({ iface: iface.name, address: iface.address }, 'mdns link up');
    if (this.ad !== null) link.advertise(this.ad);
    if (this.browsing) link.query();
  }

  private dropLink(key: string): void {
    const link = this.links.get(key);
    if (link === undefined) return;
    this.links.delete(key);
    this.log.debug({ key }, 'mdns link down');
    const closing = link.close().finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  private isSelf(identity: PeerIdentity): boolean {
    return this.ad !== null && identity.groupId === this.ad.groupId && identity.nodeId === this.ad.nodeId;
  }

  private seen({ identity, addresses }: Announcement): void {
    if (!this.closed && !this.isSelf(identity)) this.table.put('mdns', identity, addresses, this.ttlMs);
  }

  private gone(identity: PeerIdentity): void {
    if (!this.isSelf(identity)) this.table.remove('mdns', identity.groupId, identity.nodeId);
  }

  private loadCache(): void {
    if (this.cache === null) return;
    const { peers, problem } = this.cache.load(this.now(), this.options.cacheMaxAgeMs ?? defaults.cacheMaxAgeMs);
    if (problem !== null) this.log.warn(problem);
    for (const peer of peers) this.table.put('cache', peer, peer.addresses, undefined, peer.lastSeen);
  }

  /** Keeps the addresses of this group's peers heard now (not merely cached) for the next run. */
  private remember(peer: DiscoveredPeer): void {
    if (this.cache === null || this.ad === null || peer.groupId !== this.ad.groupId) return;
    if (!peer.sources.includes('mdns') && !peer.sources.includes('manual')) return;
    this.cache.remember(peer);
    if (this.cache.needsSave) this.saveCache();
  }

  private saveCache(): void {
    try {
      this.cache?.save();
    } catch (err) {
      this.log.warn({ err }, 'cannot save known peers');
    }
  }
}
