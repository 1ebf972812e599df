// LanDiscovery with the network replaced by fake links and time by a fake clock: links follow
// the interfaces, every round re-queries and expires, manual peers and the cache merge in.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { NetworkInterfaceInfo } from 'node:os';
import { LanDiscovery, type LanDiscoveryOptions } from '../../main/discovery/lan-discovery.js';
import { usableInterfaces, type NetInterface } from '../../main/discovery/interfaces.js';
import { knownPeersFile } from '../../main/discovery/known-peers.js';
import type { Announcement, Link, LinkSink } from '../../main/discovery/mdns-link.js';
import type { Advertisement, PeerIdentity } from '../../main/discovery/types.js';
import { tempDir } from '../helpers/temp-dir.js';
import { FakeClock } from './fake-clock.js';

class FakeLink implements Link {
  advertised: Advertisement | null = null;
  queries = 0;
  closed = false;
  constructor(readonly iface: NetInterface, readonly sink: LinkSink) {}
  advertise(ad: Advertisement | null): void {
    this.advertised = ad;
  }
  query(): void {
    this.queries++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const self: Advertisement = { groupId: 'a', groupName: 'Team A', nodeId: 'me', protocolVersion: 1, port: 7000 };
const peer = (nodeId: string, groupId = 'a'): PeerIdentity => ({ groupId, groupName: `Team ${groupId}`, nodeId, protocolVersion: 1 });
const heard = (identity: PeerIdentity, address = '10.0.0.2:7000'): Announcement => ({ identity, addresses: [address] });

function setup(t: TestContext, options: LanDiscoveryOptions = {}) {
  const clock = new FakeClock();
  const links: FakeLink[] = [];
  let lister = (): NetInterface[] => [{ name: 'eth0', address: '10.0.0.1' }, { name: 'wlan0', address: '192.168.1.5' }];
  const events: string[] = [];
  const discovery = new LanDiscovery({
    now: clock.now, schedule: clock.schedule, listInterfaces: () => lister(),
    createLink: (iface, sink) => {
      const link = new FakeLink(iface, sink);
      links.push(link);
      return link;
    },
    ...options,
  });
  for (const event of ['up', 'update', 'down'] as const) discovery.on(event, (p) => events.push(`${event} ${p.groupId}/${p.nodeId}`));
  t.after(() => discovery.close());
  const live = () => links.filter((l) => !l.closed);
  const setInterfaces = (list: NetInterface[] | Error) => void (lister = () => {
    if (list instanceof Error) throw list;
    return list;
  });
  return { clock, links, live, events, discovery, setInterfaces };
}

describe('LanDiscovery', () => {
  it('runs one link per usable interface, each advertising and querying', (t) => {
    const { discovery, live } = setup(t);
    discovery.browse();
    discovery.advertise(self);
    assert.deepEqual(live().map((l) => [l.iface.name, l.queries, l.advertised?.nodeId]), [['eth0', 1, 'me'], ['wlan0', 1, 'me']]);
  });

  it('follows interface changes: a new address or interface gets a new link, a gone one is closed', (t) => {
    const { discovery, live, links, clock, setInterfaces } = setup(t, { interfacePollMs: 3_000 });
    discovery.advertise(self);
    discovery.browse();
    setInterfaces([{ name: 'eth0', address: '10.0.0.99' }, { name: 'usb0', address: '172.16.0.2' }]);
    clock.advance(2_999);
    assert.equal(live().length, 2);
    assert.deepEqual(live().map((l) => l.iface.address), ['10.0.0.1', '192.168.1.5']);
    clock.advance(1);
    assert.deepEqual(links.filter((l) => l.closed).map((l) => l.iface.address), ['10.0.0.1', '192.168.1.5']);
    assert.deepEqual(live().map((l) => [l.iface.address, l.queries, l.advertised?.nodeId]), [['10.0.0.99', 1, 'me'], ['172.16.0.2', 1, 'me']]);
  });

  it('keeps its links when the interfaces cannot be listed', (t) => {
    const { discovery, live, clock, setInterfaces } = setup(t);
    discovery.browse();
    setInterfaces(new Error('uv_interface_addresses failed'));
    clock.advance(10_000);
    assert.equal(live().length, 2);
  });

  it('re-queries every round and drops a peer three silent rounds after it was last heard', (t) => {
    const { discovery, live, clock, events } = setup(t, { requeryMs: 10_000 });
    discovery.browse();
    const [eth0] = live() as [FakeLink];
    eth0.sink.seen(heard(peer('n2')));
    clock.advance(10_000);
    eth0.sink.seen(heard(peer('n2'))); // answers the second query, then falls silent
    assert.equal(eth0.queries, 2);
    clock.advance(29_999);
    assert.deepEqual(events, ['up a/n2']);
    clock.advance(1);
    assert.deepEqual(events, ['up a/n2', 'down a/n2']);
    assert.equal(eth0.queries, 5);
  });

  it('honours an explicit TTL', (t) => {
    const { discovery, live, clock, events } = setup(t, { requeryMs: 500, ttlMs: 1_500 });
    discovery.browse();
    live()[0]?.sink.seen(heard(peer('n2')));
    clock.advance(1_499);
    assert.deepEqual(discovery.list().map((p) => p.nodeId), ['n2']);
    clock.advance(1);
    assert.deepEqual(events, ['up a/n2', 'down a/n2']);
  });

  it('takes a goodbye at once, and the same peer heard on two interfaces as one', (t) => {
    const { discovery, live, events } = setup(t);
    discovery.browse();
    const [eth0, wlan0] = live() as [FakeLink, FakeLink];
    eth0.sink.seen(heard(peer('n2'), '10.0.0.2:7000'));
    wlan0.sink.seen(heard(peer('n2'), '10.0.0.2:7000'));
    eth0.sink.gone(peer('n2'));
    assert.deepEqual(events, ['up a/n2', 'down a/n2']);
  });

  it('ignores its own announcements', (t) => {
    const { discovery, live, events } = setup(t);
    discovery.advertise(self);
    discovery.browse();
    live()[0]?.sink.seen(heard(self));
    live()[0]?.sink.seen(heard({ ...self, groupId: 'b' })); // same node id, other group: not us
    assert.deepEqual(events, ['up b/me']);
  });

  it('refuses to advertise an identity others would reject', (t) => {
    const { discovery, live } = setup(t);
    assert.throws(() => discovery.advertise({ ...self, nodeId: 'a b' }), /node id/);
    assert.throws(() => discovery.advertise({ ...self, port: 0 }), /port 0/);
    assert.equal(live().length, 0);
  });

  it('adds and removes manual peers, merged with what mDNS hears', (t) => {
    const { discovery, live, events } = setup(t);
    discovery.browse();
    discovery.addPeer({ ...peer('n3'), addresses: ['server.lan:7000', '10.0.0.3:7000'] });
    live()[0]?.sink.seen(heard(peer('n3'), '10.0.0.3:7000'));
    assert.deepEqual(discovery.list().map((p) => [p.addresses, p.sources]), [[['10.0.0.3:7000', 'server.lan:7000'], ['mdns', 'manual']]]);
    discovery.removePeer('a', 'n3');
    assert.deepEqual(events, ['up a/n3', 'update a/n3', 'update a/n3']);
  });

  for (const [what, addresses, error] of [
    ['no address', [], /no address/],
    ['an address without a port', ['10.0.0.3'], /"10.0.0.3" is not host:port/],
    ['port 0', ['10.0.0.3:0'], /is not host:port/],
    ['a bad IPv6 literal', ['[zz::1]:7000'], /is not host:port/],
  ] as const) {
    it(`refuses a manual peer with ${what}`, (t) => {
      const { discovery } = setup(t);
      assert.throws(() => discovery.addPeer({ ...peer('n3'), addresses }), error);
    });
  }

  it('caches the own group\'s peers heard or added, and offers them on the next start', async (t) => {
    const dataDir = tempDir(t);
    const first = setup(t, { dataDir });
    first.discovery.advertise(self);
    first.discovery.browse();
    first.live()[0]?.sink.seen(heard(peer('n2')));
    first.live()[0]?.sink.seen(heard(peer('x9', 'b')));
    first.discovery.addPeer({ ...peer('n3'), addresses: ['[fd00::3]:7000'] });
    const saved = JSON.parse(readFileSync(join(dataDir, knownPeersFile), 'utf8')) as { peers: Record<string, { addresses: string[] }> };
    assert.deepEqual(Object.entries(saved.peers).map(([id, p]) => [id, p.addresses]), [['n2', ['10.0.0.2:7000']], ['n3', ['[fd00::3]:7000']]]);
    await first.discovery.close();

    const second = setup(t, { dataDir });
    assert.deepEqual(second.discovery.list().map((p) => [p.nodeId, p.sources]), [['n2', ['cache']], ['n3', ['cache']]]);
    await second.discovery.close(); // now: closing saves the cache, and after hooks run in order (dataDir's removal first)
  });

  it('closes every link and stops its timers', async (t) => {
    const { discovery, live, clock } = setup(t);
    discovery.browse();
    await discovery.close();
    assert.deepEqual([live().length, clock.pending], [0, 0]);
  });
});

describe('usableInterfaces', () => {
  const info = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;

  it('takes the first non-internal IPv4 address of each interface', () => {
    assert.deepEqual(usableInterfaces({
      lo: [info('127.0.0.1', 'IPv4', true)],
      eth0: [info('fe80::1', 'IPv6'), info('10.0.0.1', 'IPv4'), info('10.0.0.2', 'IPv4')],
      v6only: [info('fd00::1', 'IPv6')],
      wlan0: [info('192.168.1.5', 'IPv4')],
    }), [{ name: 'eth0', address: '10.0.0.1' }, { name: 'wlan0', address: '192.168.1.5' }]);
  });
});
