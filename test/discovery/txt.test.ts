// TXT records and announcements: what is accepted, and that everything malformed is ignored
// without an exception (anyone on the LAN can send anything).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Browser, type Service } from 'bonjour-service';
import { announcementOf, instanceName } from '../../main/discovery/mdns-link.js';
import { identityProblem } from '../../main/discovery/identity.js';
import { encodeTxt, parseTxt } from '../../main/discovery/txt.js';
import { serviceType, type PeerIdentity } from '../../main/discovery/types.js';
import { seededRandom } from '../unit/raft/harness.js';

const identity: PeerIdentity = { groupId: 'grp-1', groupName: 'Café crew', nodeId: 'node.7', protocolVersion: 3 };

/** TXT strings as they arrive off the wire (bonjour-service sends `key=value` per entry). */
const raw = (...entries: Array<string | Uint8Array>): Uint8Array[] => entries.map((e) => (typeof e === 'string' ? Buffer.from(e) : e));
const wire = (txt: Record<string, string>): Uint8Array[] => raw(...Object.entries(txt).map(([k, v]) => `${k}=${v}`));
const valid = ['g=grp-1', 'n=Café crew', 'id=node.7', 'v=3'];

describe('TXT records', () => {
  it('round-trips an identity through its TXT entries', () => {
    assert.deepEqual(encodeTxt(identity), { g: 'grp-1', n: 'Café crew', id: 'node.7', v: '3' });
    assert.deepEqual(parseTxt(wire(encodeTxt(identity))), identity);
  });

  it('ignores unknown keys, reads keys case-insensitively, keeps the first of repeated keys', () => {
    assert.deepEqual(parseTxt(raw('x=1', 'G=grp-1', 'g=other', 'n=Café crew', 'ID=node.7', 'v=3', 'flag')), identity);
  });

  it('keeps a value that itself contains "="', () => {
    assert.equal(parseTxt(raw('g=grp-1', 'n=a=b', 'id=node.7', 'v=3'))?.groupName, 'a=b');
  });

  const malformed: Array<[string, unknown]> = [
    ['not an array', 'g=grp-1'],
    ['no entries', []],
    ['entries that are not bytes', ['g=grp-1', 'n=x', 'id=a', 'v=1']],
    ...valid.map((_, i): [string, unknown] => [`missing ${valid[i]}`, raw(...valid.filter((_e, j) => j !== i))]),
    ['empty group id', raw('g=', 'n=x', 'id=a', 'v=1')],
    ['group id with a space', raw('g=a b', 'n=x', 'id=a', 'v=1')],
    ['node id of 65 characters', raw('g=g', 'n=x', `id=${'a'.repeat(65)}`, 'v=1')],
    ['empty name', raw('g=g', 'n=', 'id=a', 'v=1')],
    ['name with a line break', raw('g=g', 'n=a\nb', 'id=a', 'v=1')],
    ['name of 64 characters', raw('g=g', `n=${'é'.repeat(64)}`, 'id=a', 'v=1')],
    ['version 0', raw('g=g', 'n=x', 'id=a', 'v=0')],
    ['version with a leading zero', raw('g=g', 'n=x', 'id=a', 'v=01')],
    ['version 1.5', raw('g=g', 'n=x', 'id=a', 'v=1.5')],
    ['version too large', raw('g=g', 'n=x', 'id=a', 'v=9999999999')],
    ['version in hex', raw('g=g', 'n=x', 'id=a', 'v=0x1')],
    ['invalid UTF-8', raw('g=g', Uint8Array.from([0x6e, 0x3d, 0xff, 0xfe]), 'id=a', 'v=1')],
    ['an entry that starts with "="', raw('=g', 'g=g', 'n=x', 'id=a')],
  ];
  for (const [what, txt] of malformed) {
    it(`rejects ${what}`, () => assert.equal(parseTxt(txt), null));
  }

  it('refuses to announce an identity that others would reject', () => {
    assert.throws(() => encodeTxt({ ...identity, nodeId: 'has space' }), /node id/);
    assert.throws(() => encodeTxt({ ...identity, protocolVersion: 0 }), /protocol version/);
    assert.throws(() => encodeTxt({ ...identity, groupName: 'tab\there' }), /group name/);
  });
});

/** A browsed service as bonjour-service's Browser builds it. */
function service(fields: Partial<Service> & { rawTxt?: unknown }): Service {
  return { port: 7000, addresses: ['10.0.0.5'], referer: { address: '10.0.0.5', family: 'IPv4', port: 5353, size: 1 }, rawTxt: raw(...valid), ...fields } as unknown as Service;
}

describe('announcements', () => {
  it('puts the address the packet came from first, then the A records', () => {
    const s = service({ addresses: ['192.168.1.9', '10.0.0.5'], referer: { address: '10.0.0.5', family: 'IPv4', port: 5353, size: 1 } });
    assert.deepEqual(announcementOf(s), { identity, addresses: ['10.0.0.5:7000', '192.168.1.9:7000'] });
  });

  it('drops addresses a LAN peer cannot dial', () => {
    const s = service({ addresses: ['127.0.0.1', '0.0.0.0', '224.0.0.251', 'fe80::1', 'not an ip', '10.1.1.1'], referer: undefined });
    assert.deepEqual(announcementOf(s)?.addresses, ['10.1.1.1:7000']);
  });

  it('names each (group, node) apart, as a DNS label', () => {
    const names = [instanceName(identity), instanceName({ ...identity, groupId: 'grp-2' }), instanceName({ ...identity, nodeId: 'x'.repeat(64) })];
    assert.equal(new Set(names).size, 3);
    for (const name of names) assert.match(name, /^[a-z0-9-]{1,63}$/);
  });

  for (const [what, fields] of [
    ['no dialable address', { addresses: ['127.0.0.1'], referer: undefined }],
    ['port 0', { port: 0 }],
    ['port 70000', { port: 70_000 }],
    ['a malformed TXT record', { rawTxt: raw('g=g') }],
    ['no TXT record', { rawTxt: undefined }],
  ] as const) {
    it(`ignores one with ${what}`, () => assert.equal(announcementOf(service(fields as Partial<Service>)), null));
  }
});

/** Stands in for multicast-dns: records queries, and delivers the packets a test hands it. */
class FakeMdns extends EventEmitter {
  readonly queries: string[] = [];
  query(name: string): void {
    this.queries.push(name);
  }
}

const referer = { address: '10.0.0.5', family: 'IPv4', port: 5353, size: 100 };

function response(txt: unknown, n = 1): object {
  const instance = `qc-${n}.${serviceType}.local`;
  return {
    answers: [{ name: `${serviceType}.local`, type: 'PTR', ttl: 28800, data: instance }],
    additionals: [
      { name: instance, type: 'SRV', ttl: 120, data: { port: 7000, target: 'qc-1.local' } },
      { name: instance, type: 'TXT', ttl: 4500, data: txt },
      { name: 'qc-1.local', type: 'A', ttl: 120, data: '10.0.0.5' },
    ],
  };
}

describe("bonjour-service's Browser feeding announcementOf", () => {
  function browse(): { mdns: FakeMdns; found: Array<ReturnType<typeof announcementOf>> } {
    const mdns = new FakeMdns();
    const browser = new Browser(mdns, { type: 'quorum-chat', protocol: 'tcp' });
    const found: Array<ReturnType<typeof announcementOf>> = [];
    browser.on('up', (s) => found.push(announcementOf(s)));
    return { mdns, found };
  }

  it('queries our service type and yields the raw TXT bytes, the sender and the A records', () => {
    const { mdns, found } = browse();
    assert.deepEqual(mdns.queries, [`${serviceType}.local`]);
    mdns.emit('response', response(raw(...valid)), referer);
    assert.deepEqual(found, [{ identity, addresses: ['10.0.0.5:7000'] }]);
  });

  it('survives 10,000 packets of arbitrary (decodable) records, and yields only announcements that pass every check', () => {
    const random = seededRandom(17);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
    const type = `${serviceType}.local`;
    const names = [type, `qc-1.${type}`, `qc-2.${type}`, 'qc-1.local', '', '.', `a._sub.${type}`, `_sub.${type}`, `${'x'.repeat(63)}.local`, `qc-1.${serviceType.replace('tcp', 'udp')}.local`, `..${type}`];
    const txts = [raw(...valid), [], raw('='), [Buffer.alloc(0)], [Buffer.from([0xff, 0xfe])], raw('g', 'v=99999999999999999999'), raw(...valid, 'n=other')];
    // Only what dns-packet can decode off the wire: names are strings, SRV data has a port and a
    // target, TXT data is a list of byte strings, A data a dotted quad.
    const data: Record<string, () => unknown> = {
      PTR: () => pick(names),
      SRV: () => ({ port: int(0, 65_535), target: pick(names), priority: 0, weight: 0 }),
      TXT: () => pick(txts),
      A: () => pick(['10.0.0.7', '0.0.0.0', '255.255.255.255', '224.0.0.251', '127.0.0.1']),
      AAAA: () => pick(['fe80::1', '::']),
    };
    const record = () => {
      const kind = pick(Object.keys(data));
      return { type: kind, name: pick(names), ttl: pick([0, 120, 4500]), data: data[kind]?.() };
    };
    const found: Array<ReturnType<typeof announcementOf>> = [];
    for (let round = 0; round < 200; round++) { // a fresh browser every 50 packets: one 'up' per service on each
      const browsing = browse();
      for (let i = 0; i < 50; i++) {
        // Half the packets are an announcement's shape (PTR → SRV, TXT, A) with arbitrary parts.
        const instance = pick(names);
        const host = pick(names);
        const shaped = random() < 0.5 ? [
          { type: 'PTR', name: type, ttl: pick([0, 28800]), data: instance },
          { type: 'SRV', name: instance, ttl: 120, data: { ...(data.SRV?.() as object), target: host } },
          { type: 'TXT', name: instance, ttl: 4500, data: data.TXT?.() },
          { type: 'A', name: host, ttl: 120, data: data.A?.() },
        ] : [];
        const packet = { answers: [...shaped, ...Array.from({ length: int(0, 4) }, record)], additionals: Array.from({ length: int(0, 4) }, record) };
        browsing.mdns.emit('response', packet, pick([referer, { ...referer, address: '::1', family: 'IPv6' }]));
      }
      found.push(...browsing.found);
    }
    const accepted = found.filter((a) => a !== null);
    assert.ok(found.length > 100, `services were built (${found.length})`);
    assert.ok(accepted.length > 0, 'some announcements were whole');
    for (const a of accepted) {
      assert.equal(identityProblem(a.identity), null);
      assert.ok(a.addresses.length > 0 && a.addresses.every((address) => /^10\.0\.0\.[57]:\d+$/.test(address)), a.addresses.join());
    }
  });

  it('survives malformed TXT data and yields nothing for it', () => {
    const { mdns, found } = browse();
    const bad = [[], [Buffer.from('x')], raw('g=g', 'n=\u0000', 'id=a', 'v=1'), raw('__proto__=x', ...valid.slice(1))];
    bad.forEach((txt, i) => mdns.emit('response', response(txt, i), referer));
    assert.deepEqual(found, [null, null, null, null]);
  });
});
