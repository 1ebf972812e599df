// LAN discovery between real hosts: six network namespaces on one bridge, each running
// advertise-child.ts. Five form group "lan-a"; the sixth announces group "lan-b" with the node
// id of host 1, and must be seen as a different group. Then one host's cable is pulled and
// put back, and another host changes address. Short re-query/TTL settings keep it quick.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { groupsOf, knownPeersFile, type DiscoveredPeer } from '../../main/discovery/index.js';
import { JsonChild } from '../helpers/json-child.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';
import { canCreateNamespaces, TestNetwork, type Host } from '../netns/network.js';

const child = join(import.meta.dirname, 'advertise-child.ts');
// A query a second; a peer is dropped after three and a half silent rounds. Shorter settings
// work on an idle machine but let a starved process miss its window on a loaded one.
const timing = { requeryMs: 1_000, ttlMs: 3_500, interfacePollMs: 200 };
const settle = { timeoutMs: 20_000, intervalMs: 50 };

interface Node {
  readonly host: Host;
  readonly groupId: string;
  readonly groupName: string;
  readonly nodeId: string;
  readonly port: number;
  readonly dataDir: string;
  process: JsonChild;
}

const keyOf = (p: { groupId: string; nodeId: string }): string => `${p.groupId}/${p.nodeId}`;

/**
 * What a node currently knows, rebuilt from its event stream. Throws on an incoherent stream
 * (an 'up' for a peer already up, an 'update' or 'down' for one that is not).
 */
function viewOf(node: Node): Map<string, DiscoveredPeer> {
  const view = new Map<string, DiscoveredPeer>();
  for (const line of node.process.lines) {
    const peer = line.peer as DiscoveredPeer | undefined;
    if (peer === undefined) continue;
    const key = keyOf(peer);
    if ((line.event === 'up') === view.has(key)) throw new Error(`node ${keyOf(node)}: '${String(line.event)}' for ${key} out of order`);
    if (line.event === 'down') view.delete(key);
    else view.set(key, peer);
  }
  return view;
}

/** The entry a node should have for `other`: its TXT fields and the address it has now. */
function expectedEntry(other: Node): object {
  return {
    groupId: other.groupId, groupName: other.groupName, nodeId: other.nodeId, protocolVersion: 1,
    addresses: [`${other.host.address}:${other.port}`], sources: ['mdns'],
  };
}

function entryOf(peer: DiscoveredPeer): object {
  const { lastSeen: _lastSeen, ...rest } = peer;
  return rest;
}

/** Waits until `node` knows exactly `others`, each with its current fields. */
async function waitUntilSees(node: Node, others: readonly Node[], what: string): Promise<void> {
  const expected = new Map(others.map((o) => [keyOf(o), expectedEntry(o)]));
  await waitFor(() => {
    const view = viewOf(node);
    const actual = new Map([...view].map(([key, peer]) => [key, entryOf(peer)]));
    assert.deepEqual(actual, expected);
    return true;
  }, `${keyOf(node)} to see ${what}`, settle);
}

function start(net: TestNetwork, node: Omit<Node, 'process'>): Node {
  const config = { ...node, host: undefined, ...timing };
  const [command, args] = net.argv(node.host, process.execPath, ['--import', 'tsx', child, JSON.stringify(config)]);
  return { ...node, process: JsonChild.spawn(command, args) };
}

function makeNodes(t: TestContext, net: TestNetwork): Node[] {
  return net.hosts.map((host) => {
    const inA = host.index <= 5;
    return start(net, {
      host, port: 7000 + host.index, dataDir: tempDir(t, 'quorum-discovery-'),
      groupId: inA ? 'lan-a' : 'lan-b', groupName: inA ? 'Team A' : 'Team B', nodeId: inA ? `n${host.index}` : 'n1',
    });
  });
}

const others = (nodes: readonly Node[], node: Node): Node[] => nodes.filter((n) => n !== node);

test('LAN discovery across six network namespaces', { timeout: 90_000 }, async (t) => {
  const probe = canCreateNamespaces();
  if (!probe.ok) {
    t.skip(`needs root and ip netns: ${probe.reason}`);
    return;
  }
  const net = TestNetwork.create({ hosts: 6 });
  t.after(() => net.destroy());
  const nodes = makeNodes(t, net);
  t.after(() => Promise.all(nodes.map((n) => n.process.stop())));
  const [n1, n2, n3, n4] = nodes as [Node, Node, Node, Node];

  // Starting six tsx processes can take long on a busy machine; discovery is timed from here.
  const started = Date.now();
  await Promise.all(nodes.map((n) => n.process.next((l) => l.event === 'ready', `${keyOf(n)} to start`, { timeoutMs: 60_000 })));
  t.diagnostic(`children started in ${Date.now() - started} ms`);

  await t.test('every host sees the other five with their TXT fields', async () => {
    await Promise.all(nodes.map((node) => waitUntilSees(node, others(nodes, node), 'everyone')));
  });

  await t.test('list() agrees with the events, and a different group id is a different group', async () => {
    const from = n2.process.lines.length;
    n2.process.send({ cmd: 'list' });
    const listed = (await n2.process.next((l) => l.event === 'list', 'a list', { from })).peers as DiscoveredPeer[];
    assert.deepEqual(new Set(listed.map(keyOf)), new Set(viewOf(n2).keys()));
    assert.deepEqual(groupsOf(listed), [
      { groupId: 'lan-a', groupName: 'Team A', nodeIds: ['n1', 'n3', 'n4', 'n5'] },
      { groupId: 'lan-b', groupName: 'Team B', nodeIds: ['n1'] },
    ]);
  });

  await t.test('a host whose cable is pulled expires everywhere, and itself loses everyone', async () => {
    net.cutLink(n3.host);
    const rest = others(nodes, n3);
    await Promise.all(rest.map((node) => waitUntilSees(node, others(rest, node), 'everyone but n3')));
    await waitUntilSees(n3, [], 'no one');
  });

  await t.test('the cable back, everyone finds it again', async () => {
    net.restoreLink(n3.host);
    await Promise.all(nodes.map((node) => waitUntilSees(node, others(nodes, node), 'everyone again')));
  });

  await t.test('a host given a new address is found at the new address', async () => {
    net.moveAddress(n4.host, net.addressFor(n4.host.index, 100));
    await Promise.all(nodes.map((node) => waitUntilSees(node, others(nodes, node), 'n4 at its new address')));
  });

  await t.test('known-peers.json keeps the own group, at current addresses', () => {
    const file = JSON.parse(readFileSync(join(n1.dataDir, knownPeersFile), 'utf8')) as { peers: Record<string, { groupId: string; addresses: string[] }> };
    const group = others(nodes, n1).filter((n) => n.groupId === n1.groupId);
    assert.deepEqual(
      Object.fromEntries(Object.entries(file.peers).map(([id, p]) => [id, [p.groupId, p.addresses]])),
      Object.fromEntries(group.map((n) => [n.nodeId, [n.groupId, [`${n.host.address}:${n.port}`]]])),
    );
  });

  await t.test('teardown leaves no namespace, veth or bridge', async () => {
    await Promise.all(nodes.map((n) => n.process.stop()));
    assert.deepEqual(net.destroy(), []);
  });
});
