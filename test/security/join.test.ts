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
async function startGroupPeer(dir: string, secret: Buffer, id: string, joinVia: string | null, joinWithinMs = 10_000): Promise<{ server: PeerServer; address: string }> {
  const founder = joinVia === null;
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const dataDir = join(dir, id);
  const { tls } = await groupTls(dataDir, writeGroupConfig(dataDir, secret, 'test'), id);
  const server = await startPeerServer({
    dataDir, id, listen: address, peers: new Map(founder ? [[id, address]] : []), timing, scrypt: testScrypt,
    tls, membership: membershipHandlers,
  });
  running.push(server);
  if (joinVia !== null) {
    const members = () => [{ address: joinVia, nodeId: null }];
    const signal = AbortSignal.timeout(joinWithinMs);
    await joinGroup(server.peer, { addresses: () => [address], candidates: members, retryMs: 100, signal });
  }
  return { server, address };
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

  it('refuses a node without the secret', async (t) => {
    const dir = groupDir(t);
    const founder = await startGroupPeer(dir, createGroupSecret(), 'n-founder', null);
    await assert.rejects(startGroupPeer(dir, createGroupSecret(), 'n-stranger', founder.address, 2_000), /timeout|abort/i);
    assert.deepEqual(founder.server.peer.status().conf.learners, []);
  });
});
