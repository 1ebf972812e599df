// One mDNS responder and browser bound to one network interface, on bonjour-service.
//
// What the library does, and what this file does about it (read in its source, v1.4.4, and
// multicast-dns 7.2.5):
// - Options given to `new Bonjour(opts)` go straight to multicast-dns. `interface: IP` joins
//   224.0.0.251 on that interface only and sends through it; but multicast-dns also *binds*
//   the socket to that IP, and Linux delivers no multicast to a socket bound to a unicast
//   address. So we pass `bind: '0.0.0.0'` with it: the membership and the outgoing interface
//   stay per interface, the socket receives. (On Linux a socket bound to 0.0.0.0 receives
//   the group's packets from every interface that any socket joined, so on a multi-homed
//   host each responder also hears, and answers on its own link, the others' queries: extra
//   answers, never missing ones.)
// - Record TTLs are fixed by the library (PTR 28800 s, SRV/A 120 s, TXT 4500 s), and its
//   Browser never expires an entry by itself, nor refreshes one that answers again. So each
//   re-query starts a fresh Browser: every peer that answers shows up on it again, and
//   PeerTable expires what stopped answering (see lan-discovery.ts).
// - Its default error callback throws, and multicast-dns emits 'error' (fatal without a
//   listener) when the port cannot be bound: both are routed to the log instead.
// - Probing for a name conflict is off: the instance name derives from group and node id, and the
//   responders of one node on its other interfaces would otherwise "conflict" with each other.
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Bonjour, type Browser, type Service } from 'bonjour-service';
import type { Logger } from '../log/logger.js';
import { formatAddress, isDialableIPv4, isValidPort, uniqueAddresses } from './addresses.js';
import type { NetInterface } from './interfaces.js';
import { encodeTxt, parseTxt } from './txt.js';
import type { Advertisement, PeerIdentity } from './types.js';

/** An announcement that passed every check. */
export interface Announcement {
  readonly identity: PeerIdentity;
  readonly addresses: readonly string[];
}

/** Where a link reports what it hears. */
export interface LinkSink {
  seen(announcement: Announcement): void;
  /** A goodbye (TTL 0): the peer says it stopped announcing. */
  gone(identity: PeerIdentity): void;
}

/** One interface's responder and browser (an interface so tests can stand in for the network). */
export interface Link {
  advertise(ad: Advertisement | null): void;
  /** Asks the link's network who is there; answers arrive through the sink. */
  query(): void;
  close(): Promise<void>;
}

export type LinkFactory = (iface: NetInterface, sink: LinkSink, log: Logger) => Link;

const browseType = { type: 'quorum-chat', protocol: 'tcp' } as const;
const closeTimeoutMs = 1_000;

/**
 * The DNS-SD instance (and host) name: unique per (group, node), since two groups may both
 * have a node "n1" and two responders claiming one name is a conflict on the LAN. The ids
 * themselves may be too long for a DNS label or hold dots, hence a hash.
 */
export function instanceName(identity: PeerIdentity): string {
  const digest = createHash('sha256').update(`${identity.groupId}\u0000${identity.nodeId}`).digest('hex');
  return `qc-${digest.slice(0, 16)}`;
}

/** The identity in a browsed service's TXT record (the raw bytes: the library's own decoding
 * keeps the last of repeated keys and cuts values at a line break). */
function identityOfService(service: Service): PeerIdentity | null {
  return parseTxt((service as Service & { rawTxt?: unknown }).rawTxt);
}

/**
 * The announcement a browsed service carries, or null when anything in it is malformed.
 * Addresses: the one the packet came from first (it shares a link with us), then the
 * A records; only IPv4 addresses a LAN peer could dial.
 */
export function announcementOf(service: Service): Announcement | null {
  const identity = identityOfService(service);
  if (identity === null || !isValidPort(service.port)) return null;
  const candidates = [service.referer?.address, ...(Array.isArray(service.addresses) ? service.addresses : [])];
  const hosts = candidates.filter(isDialableIPv4);
  if (hosts.length === 0) return null;
  return { identity, addresses: uniqueAddresses([hosts.map((h) => formatAddress(h, service.port))]) };
}

/** Runs `start(done)` and resolves when it calls back, or after a bound: close never hangs. */
function bounded(start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, closeTimeoutMs);
    start(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class MdnsLink implements Link {
  private readonly bonjour: Bonjour;
  private browser: Browser | null = null;
  private published: Service | null = null;

  constructor(readonly iface: NetInterface, private readonly sink: LinkSink, private readonly log: Logger) {
    // bonjour-service types these options as a ServiceConfig; they are multicast-dns options.
    const options = { interface: iface.address, bind: '0.0.0.0' } as unknown as ConstructorParameters<typeof Bonjour>[0];
    this.bonjour = new Bonjour(options, (err: Error) => this.log.debug({ err, iface: iface.name }, 'mdns send failed'));
    // The socket's emitter is private in the library's types; without a listener an 'error' crashes the process.
    const mdns = (this.bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
    mdns.on('error', (err: Error) => this.log.warn({ err, iface: iface.name }, 'mdns socket error'));
    // E.g. joining the group failed: this link will hear nothing, which is worth knowing when debugging.
    mdns.on('warning', (err: Error) => this.log.debug({ err, iface: iface.name }, 'mdns warning'));
  }

  advertise(ad: Advertisement | null): void {
    this.published?.stop();
    this.published = null;
    if (ad === null) return;
    const name = instanceName(ad);
    this.published = this.bonjour.publish({
      name, type: browseType.type, protocol: browseType.protocol, port: ad.port, host: `${name}.local`,
      txt: encodeTxt(ad), probe: false, disableIPv6: true,
    });
  }

  query(): void {
    this.browser?.stop();
    const browser = this.bonjour.find(browseType);
    const seen = (service: Service): void => {
      const announcement = announcementOf(service);
      if (announcement === null) this.log.debug({ name: service.name, iface: this.iface.name }, 'malformed announcement ignored');
      else this.sink.seen(announcement);
    };
    browser.on('up', seen);
    browser.on('txt-update', seen);
    browser.on('srv-update', seen);
    browser.on('down', (service) => {
      const identity = identityOfService(service);
      if (identity !== null) this.sink.gone(identity);
    });
    this.browser = browser;
  }

  /** Says goodbye (records with TTL 0) for what it announced, then closes the socket. */
  async close(): Promise<void> {
    this.browser?.stop();
    this.browser = null;
    this.published = null;
    await bounded((done) => this.bonjour.unpublishAll(done));
    await bounded((done) => this.bonjour.destroy(done));
  }
}
