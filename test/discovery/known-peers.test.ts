// known-peers.json: what is written, what is read back, and that a damaged file is skipped
// with a reason instead of stopping anything.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KnownPeers, knownPeersFile, type KnownPeer } from '../../main/discovery/known-peers.js';
import { tempDir } from '../helpers/temp-dir.js';

const day = 24 * 3600 * 1000;
const now = 100 * day;
const n2: KnownPeer = { groupId: 'a', groupName: 'Team A', nodeId: 'n2', protocolVersion: 1, addresses: ['10.0.0.2:7000'], lastSeen: now - day };

function writeFile(dir: string, content: unknown): void {
  writeFileSync(join(dir, knownPeersFile), typeof content === 'string' ? content : JSON.stringify(content));
}

describe('KnownPeers', () => {
  it('writes node id → identity, addresses and last seen, and reads it back', (t) => {
    const dir = tempDir(t);
    const cache = new KnownPeers(dir);
    cache.remember(n2);
    cache.save();
    const { nodeId: _n, ...entry } = n2;
    assert.deepEqual(JSON.parse(readFileSync(join(dir, knownPeersFile), 'utf8')), { version: 1, peers: { n2: entry } });
    assert.deepEqual(readdirSync(dir), [knownPeersFile]); // the temp file was renamed away
    assert.deepEqual(new KnownPeers(dir).load(now, 30 * day), { peers: [n2], problem: null });
  });

  it('needs saving for a new peer or new addresses, not for a later lastSeen alone', (t) => {
    const cache = new KnownPeers(tempDir(t));
    assert.equal(cache.needsSave, false);
    cache.remember(n2);
    assert.equal(cache.needsSave, true);
    cache.save();
    cache.remember({ ...n2, lastSeen: now });
    assert.equal(cache.needsSave, false);
    cache.remember({ ...n2, addresses: ['10.0.0.22:7000'] });
    assert.equal(cache.needsSave, true);
  });

  it('drops entries not seen within the maximum age', (t) => {
    const dir = tempDir(t);
    const cache = new KnownPeers(dir);
    cache.remember(n2);
    cache.remember({ ...n2, nodeId: 'old', lastSeen: now - 31 * day });
    cache.save();
    assert.deepEqual(new KnownPeers(dir).load(now, 30 * day).peers.map((p) => p.nodeId), ['n2']);
  });

  it('starts empty without a file', (t) => {
    const dir = tempDir(t);
    assert.deepEqual(new KnownPeers(dir).load(now, day), { peers: [], problem: null });
    assert.equal(existsSync(join(dir, knownPeersFile)), false);
  });

  for (const [what, content] of [
    ['not JSON', '{"version": 1, "pee'],
    ['another version', { version: 2, peers: {} }],
    ['peers as a list', { version: 1, peers: [] }],
  ] as const) {
    it(`ignores a file that is ${what}, saying why`, (t) => {
      const dir = tempDir(t);
      writeFile(dir, content);
      const result = new KnownPeers(dir).load(now, day);
      assert.deepEqual(result.peers, []);
      assert.match(result.problem ?? '', /known-peers\.json ignored/);
    });
  }

  it('skips malformed entries and keeps the rest', (t) => {
    const dir = tempDir(t);
    const { nodeId: _n, ...good } = n2;
    writeFile(dir, {
      version: 1,
      peers: {
        n2: good,
        'bad id': good,
        noAddresses: { ...good, addresses: [] },
        badAddress: { ...good, addresses: ['10.0.0.3'] },
        badVersion: { ...good, protocolVersion: 0 },
        notAnObject: 7,
      },
    });
    const result = new KnownPeers(dir).load(now, 30 * day);
    assert.deepEqual(result.peers, [n2]);
    assert.match(result.problem ?? '', /5 malformed entries ignored/);
  });
});
