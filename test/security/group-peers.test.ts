// Peers of a group (created with a secret) run all peer traffic over mutual TLS: they form a
// group and replicate; a node that claims another member's id, or holds no group certificate,
// cannot make any member step a message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { groupAuthority, issueNodeCertificate } from '../../main/security/certificates.js';
import { createGroupSecret } from '../../main/security/group-secret.js';
import { peerTls } from '../../main/security/tls.js';
import { assertForgedVoteRefused } from '../helpers/forged-vote.js';
import { PeerGroup } from '../helpers/peer-group.js';

describe('a group of peers over mutual TLS', () => {
  const secret = createGroupSecret();
  let group: PeerGroup;

  before(async () => {
    group = await PeerGroup.start({ size: 3, secret });
  });
  after(async () => group.stop());

  it('elects a leader and replicates a write to every member', async () => {
    const leader = group.server(await group.leader());
    const { appliedIndex } = await leader.session().register('alice', 'correct horse');
    for (const s of group.servers) await s.peer.waitApplied(appliedIndex);
  });

  it('keeps the secret and the node key owner-only in the data directory', () => {
    const dir = group.dataDir(0);
    for (const file of ['group.json', 'node-key.pem', 'node-cert.pem']) {
      assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
    }
  });

  it('refuses a member that claims another member\'s node id', async () => {
    const member = await issueNodeCertificate(await groupAuthority(secret), 'p1');
    await assertForgedVoteRefused(group.server(2).peer, group.addresses[2] as string, peerTls(await groupAuthority(secret), member), 'p2');
  });

  it('refuses a node whose certificate comes from another secret', async () => {
    const other = await groupAuthority(createGroupSecret());
    await assertForgedVoteRefused(group.server(2).peer, group.addresses[2] as string, peerTls(other, await issueNodeCertificate(other, 'p2')), 'p2');
  });
});
