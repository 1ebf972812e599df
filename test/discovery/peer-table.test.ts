// The merged peer view: events, expiry by TTL on an injected clock, and how sources combine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupsOf } from '../../main/discovery/groups.js';
import { PeerTable } from '../../main/discovery/peer-table.js';
import type { DiscoveredPeer, PeerIdentity } from '../../main/discovery/types.js';
import { FakeClock } from './fake-clock.js';

const a1: PeerIdentity = { groupId: 'a', groupName: 'Team A', nodeId: 'n1', protocolVersion: 1 };
const ttl = 1_500;

function table(): { clock: FakeClock; peers: PeerTable; events: string[] } {
  const clock = new FakeClock();
  const peers = new PeerTable(clock.now);
  const events: string[] = [];
  for (const event of ['up', 'update', 'down'] as const) {
    peers.on(event, (p) => events.push(`${event} ${p.groupId}/${p.nodeId} ${p.addresses.join(',')} [${p.sources.join(',')}]`));
  }
  return { clock, peers, events };
}

describe('PeerTable', () => {
  it('reports a new peer as up, a repeat as nothing, a change as an update', () => {
    const { peers, events, clock } = table();
    peers.put('mdns', a1, ['10.0.0.1:7000'], ttl);
    clock.advance(500);
    peers.put('mdns', a1, ['10.0.0.1:7000'], ttl);
    peers.put('mdns', { ...a1, groupName: 'Renamed' }, ['10.0.0.1:7000'], ttl);
    peers.put('mdns', { ...a1, groupName: 'Renamed' }, ['10.0.0.2:7000'], ttl);
    assert.deepEqual(events, [
      'up a/n1 10.0.0.1:7000 [mdns]', 'update a/n1 10.0.0.1:7000 [mdns]', 'update a/n1 10.0.0.2:7000 [mdns]',
    ]);
    assert.equal(peers.get('a', 'n1')?.lastSeen, clock.time);
  });

  it('expires an entry exactly when its TTL has passed since it was last put', () => {
    const { peers, events, clock } = table();
    peers.put('mdns', a1, ['10.0.0.1:7000'], ttl);
    clock.advance(1_000);
    peers.put('mdns', a1, ['10.0.0.1:7000'], ttl); // refreshed: now due at 2_500 from the start
    clock.advance(ttl - 1);
    peers.sweep();
    assert.equal(peers.list().length, 1);
    clock.advance(1);
    peers.sweep();
    assert.deepEqual(peers.list(), []);
    assert.deepEqual(events, ['up a/n1 10.0.0.1:7000 [mdns]', 'down a/n1 10.0.0.1:7000 [mdns]']);
  });

  it('never expires manual or cached entries', () => {
    const { peers, clock } = table();
    peers.put('manual', a1, ['10.0.0.1:7000']);
    peers.put('cache', { ...a1, nodeId: 'n2' }, ['10.0.0.2:7000'], undefined, 5);
    clock.advance(365 * 24 * 3600 * 1000);
    peers.sweep();
    assert.deepEqual(peers.list().map((p) => [p.nodeId, p.lastSeen]), [['n1', 1_000_000], ['n2', 5]]);
  });

  it('merges sources: mDNS identity and addresses first; expiry of one source is an update', () => {
    const { peers, events, clock } = table();
    peers.put('cache', { ...a1, groupName: 'Old name' }, ['10.0.0.9:7000', '10.0.0.1:7000']);
    peers.put('manual', a1, ['10.0.0.1:7000']);
    peers.put('mdns', a1, ['10.0.0.2:7000'], ttl);
    assert.deepEqual(strip(peers.get('a', 'n1')), {
      ...a1, addresses: ['10.0.0.2:7000', '10.0.0.1:7000', '10.0.0.9:7000'], sources: ['mdns', 'manual', 'cache'],
    });
    clock.advance(ttl);
    peers.sweep();
    peers.remove('manual', 'a', 'n1');
    assert.deepEqual(events.slice(-2), ['update a/n1 10.0.0.1:7000,10.0.0.9:7000 [manual,cache]', 'update a/n1 10.0.0.9:7000,10.0.0.1:7000 [cache]']);
    assert.equal(peers.get('a', 'n1')?.groupName, 'Old name');
  });

  it('keeps the same node id in two groups apart', () => {
    const { peers } = table();
    peers.put('mdns', a1, ['10.0.0.1:7000'], ttl);
    peers.put('mdns', { ...a1, groupId: 'b', groupName: 'Team B' }, ['10.0.0.2:7000'], ttl);
    peers.remove('mdns', 'b', 'n1');
    assert.deepEqual(peers.list().map((p) => p.groupId), ['a']);
  });

  it('ignores the removal of something it does not have', () => {
    const { peers, events } = table();
    peers.remove('mdns', 'a', 'n1');
    peers.put('manual', a1, ['10.0.0.1:7000']);
    peers.remove('mdns', 'a', 'n1');
    assert.deepEqual(events, ['up a/n1 10.0.0.1:7000 [manual]']);
  });
});

function strip(peer: DiscoveredPeer | undefined): object | undefined {
  if (peer === undefined) return undefined;
  const { lastSeen: _lastSeen, ...rest } = peer;
  return rest;
}

describe('groupsOf', () => {
  const peer = (groupId: string, groupName: string, nodeId: string, lastSeen: number): DiscoveredPeer => ({
    groupId, groupName, nodeId, protocolVersion: 1, addresses: ['10.0.0.1:1'], lastSeen, sources: ['mdns'],
  });

  it('groups by id, not by name, naming each group as its most recently seen member does', () => {
    assert.deepEqual(groupsOf([peer('x', 'Same', 'n2', 1), peer('y', 'Same', 'n1', 1), peer('x', 'Newer', 'n1', 2)]), [
      { groupId: 'x', groupName: 'Newer', nodeIds: ['n1', 'n2'] },
      { groupId: 'y', groupName: 'Same', nodeIds: ['n1'] },
    ]);
  });
});
