// Joining a group by address over mutual TLS (in-process, loopback): a holder of the secret is
// added as a learner through any member (a follower forwards to the leader) and catches up; a
// node without the secret, or with another certificate for a pinned node id, is refused.
// Leaving takes the same path; autopilot promotes.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { join } from 'node:path';
import { startPeerServer, type PeerServer } from '../../main/api/peer-server.js';
import { defaultAutopilot } from '../../main/autopilot/autopilot.js';
import { AutopilotRunner } from '../../main/peer/autopilot-runner.js';
import { groupTls, writeGroupConfig } from '../../main/peer/group-files.js';
import { joinGroup, membershipHandlers } from '../../main/peer/join.js';
import { readMemberBook } from '../../main/peer/member-book.js';
import { groupAuthority, issueNodeCertificate } from '../../main/security/certificates.js';
import { createGroupSecret } from '../../main/security/group-secret.js';
import { peerTls } from '../../main/security/tls.js';
import { assertForgedVoteRefused } from '../helpers/forged-vote.js';
import { testScrypt } from '../helpers/chat-replica.js';
import { freePorts } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

const timing = { tickMs: 10, electionTicks: 10, heartbeatTicks: 2 };

/** A group peer: a founder (one-voter group) when `joinVia` is null, else a joiner through it. */
async function startGroupPeer(dir: string, secret: Buffer, id: string, joinVia: string | null, joinWithinMs = 10_000, snapshotEvery?: number): Promise<{ server: PeerServer; address: string; fingerprint: string }> {
  const founder = joinVia === null;
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const dataDir = join(dir, id);
  const { tls, node } = await groupTls(dataDir, writeGroupConfig(dataDir, secret, 'test'), id);
  const server = await startPeerServer({
    dataDir, id, listen: address, peers: new Map(founder ? [[id, address]] : []), timing, scrypt: testScrypt,
    tls, membership: membershipHandlers, ...(snapshotEvery === undefined ? {} : { snapshotEvery, retainedEntries: 0 }), // no log kept below a snapshot: joiners get the snapshot
  });
  running.push(server);
  if (joinVia !== null) {
    const members = () => [{ address: joinVia, nodeId: null }];
    const signal = AbortSignal.timeout(joinWithinMs);
    await joinGroup(server.peer, { addresses: () => [address], candidates: members, retryMs: 100, signal });
  }
  return { server, address, fingerprint: node.fingerprint };
}

/** Peers of the running test, stopped before its temporary directory goes. */
const running: PeerServer[] = [];

/** A temporary directory whose peers are stopped first (after hooks run in order). */
function groupDir(t: TestContext): string {
  t.after(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop(100)));
  });
  return tempDir(t);
}

describe('joining a group over TLS', () => {
  it('adds joiners as learners through the leader or a follower, and they catch up', async (t) => {
    const dir = groupDir(t);
    const secret = createGroupSecret();
    const founder = await startGroupPeer(dir, secret, 'n-founder', null);
    await waitFor(() => founder.server.peer.leaderId() === 'n-founder', 'the founder to lead its one-voter group');
    const { appliedIndex } = await founder.server.session().register('alice', 'correct horse');
    const second = await startGroupPeer(dir, secret, 'n-second', founder.address);
    await second.server.peer.waitApplied(appliedIndex);
    // Through a learner, which does not lead: it forwards to the leader.
    const third = await startGroupPeer(dir, secret, 'n-third', second.address);
    await third.server.peer.waitApplied(appliedIndex);
    assert.deepEqual(founder.server.peer.status().conf, { voters: ['n-founder'], learners: ['n-second', 'n-third'] });
    assert.equal(third.server.peer.addressOf('n-second'), second.address, 'the context carried its address');

    // The membership pinned n-second's certificate: another one naming n-second, even from
    // the same group CA, is refused.
    const authority = await groupAuthority(secret);
    const impostor = peerTls(authority, await issueNodeCertificate(authority, 'n-second'));
    await assertForgedVoteRefused(founder.server.peer, founder.address, impostor, 'n-second');

    // Leaving goes the same way: the learner asks the leader, and hears of its own removal.
    const removed = new Promise<void>((resolve) => third.server.peer.once('removed', resolve));
    await third.server.session().leaveGroup();
    await removed;
    assert.deepEqual(founder.server.peer.status().conf, { voters: ['n-founder'], learners: ['n-second'] });
  });

  it('autopilot on the leader promotes healthy learners and records it in the status', async (t) => {
    const dir = groupDir(t);
    const secret = createGroupSecret();
    const founder = await startGroupPeer(dir, secret, 'n-founder', null);
    for (const id of ['n-b', 'n-c']) await startGroupPeer(dir, secret, id, founder.address);
    const autopilot = new AutopilotRunner(founder.server.peer, { ...defaultAutopilot, stabilizationMs: 200 }, 50);
    founder.server.peer.autopilot = autopilot;
    autopilot.start();
    await waitFor(() => founder.server.peer.status().conf.voters.length === 3, 'both learners promoted');
    const decisions = (await founder.server.session().status()).autopilot;
    assert.deepEqual(decisions.map((d) => [d.action, d.outcome]), [['promote', 'done'], ['promote', 'done']]);
  });

  it('pins the founder\'s certificate in the replicated members table', async (t) => {
    const dir = groupDir(t);
    const secret = createGroupSecret();
    const founder = await startGroupPeer(dir, secret, 'n-founder', null);
    const { fingerprint } = founder;
    await waitFor(() => founder.server.peer.pinnedFingerprint('n-founder') === fingerprint, 'the founder to pin itself');
    // Another certificate naming the founder, from the same group CA, is refused.
    const authority = await groupAuthority(secret);
    const forged = peerTls(authority, await issueNodeCertificate(authority, 'n-founder'));
    const second = await startGroupPeer(dir, secret, 'n-second', founder.address);
    await waitFor(() => second.server.peer.pinnedFingerprint('n-founder') === fingerprint, 'the joiner to learn the founder\'s pin');
    await assertForgedVoteRefused(second.server.peer, second.address, forged, 'n-founder');
  });

  it('a joiner that catches up from a snapshot still knows every pin', async (t) => {
    const dir = groupDir(t);
    const secret = createGroupSecret();
    const snapshotEvery = 5;
    const founder = await startGroupPeer(dir, secret, 'n-founder', null, 10_000, snapshotEvery);
    await waitFor(() => founder.server.peer.leaderId() === 'n-founder', 'the founder to lead its one-voter group');
    const second = await startGroupPeer(dir, secret, 'n-second', founder.address, 10_000, snapshotEvery);
    const secondPin = second.fingerprint;
    assert.equal(founder.server.peer.pinnedFingerprint('n-second'), secondPin, 'n-second is pinned');
    // Enough writes that the conf changes are compacted away on the founder.
    let applied = 0;
    for (let i = 0; i < 4 * snapshotEvery; i++) applied = (await founder.server.session().register(`user${i}`, 'correct horse')).appliedIndex;
    await second.server.peer.waitApplied(applied);
    const third = await startGroupPeer(dir, secret, 'n-third', founder.address, 10_000, snapshotEvery);
    await third.server.peer.waitApplied(applied);
    // It never applied n-second's conf change (compacted): only the snapshot can tell it the pin.
    assert.equal(readMemberBook(join(dir, 'n-third')).pins['n-second'], undefined, 'n-third caught up from a snapshot');
    assert.equal(third.server.peer.pinnedFingerprint('n-second'), secondPin, 'the snapshot carried n-second\'s pin');
    assert.equal(third.server.peer.pinnedFingerprint('n-founder'), founder.server.peer.pinnedFingerprint('n-founder'));
    assert.ok(third.server.peer.pinnedFingerprint('n-founder') !== undefined, 'the snapshot carried the founder\'s pin');
    const authority = await groupAuthority(secret);
    const impostor = peerTls(authority, await issueNodeCertificate(authority, 'n-second'));
    await assertForgedVoteRefused(third.server.peer, third.address, impostor, 'n-second');
  });

  it('refuses a node without the secret', async (t) => {
    const dir = groupDir(t);
    const founder = await startGroupPeer(dir, createGroupSecret(), 'n-founder', null);
    await assert.rejects(startGroupPeer(dir, createGroupSecret(), 'n-stranger', founder.address, 2_000), /timeout|abort/i);
    assert.deepEqual(founder.server.peer.status().conf.learners, []);
  });
});
