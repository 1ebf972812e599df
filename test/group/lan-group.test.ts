// Zero-configuration groups between real hosts (network namespaces on one bridge): peers
// started with no addresses find each other by mDNS, join with the invite code over mutual
// TLS and are promoted by autopilot; a host without the secret sees the group but gets in
// nowhere. Skipped, with the reason printed, where namespaces cannot be made.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Host } from '../netns/network.js';
import { CliProcess, groupNetwork, runCli, statusOf } from './group-host.js';
import { waitFor } from '../helpers/wait.js';

// Learners are promoted after 1 s of health instead of 10 s: the rule is the same, the test shorter.
const env = { QC_AUTOPILOT_STABILIZATION_MS: '1000' };

test('five peers with no addresses form one group of five voters; a stranger gets nowhere', async (t) => {
  const setup = groupNetwork(t, 6, env);
  if (setup === null) return;
  const { net, group, dir } = setup;
  const [h1, h2, h3, h4, h5, stranger] = net.hosts as [Host, Host, Host, Host, Host, Host];
  const startedAt = Date.now();
  await group.found([h1, h2, h3, h4, h5]);
  assert.equal(await group.peers.get(h1)?.line(/^listening on (\S+)$/), `${h1.address}:7400`);
  const formed = await group.until(h1, (s) => s.voters.length === 5, 'a group of five voters');
  t.diagnostic(`five voters after ${Date.now() - startedAt} ms`);
  assert.deepEqual(formed.learners, []);
  const leaderView = [h1, h2, h3, h4, h5].map((h) => statusOf(net, h)).find((s) => s !== null && s.id === s.leader);
  const promoted = (leaderView?.autopilot ?? []).filter((d) => d.action === 'promote' && d.outcome === 'done');
  t.diagnostic(`the leader's autopilot recorded ${promoted.length} promotions`);
  assert.ok(promoted.length >= 1 && promoted.every((d) => formed.voters.includes(d.node)), 'autopilot made the voters');

  // The stranger sees the group announced (a listing listens 3 s: on a loaded machine one may
  // miss an answer, so it looks again, within a bound)...
  await waitFor(() => {
    const seen = runCli(net, stranger, ['groups', '--json', '--seconds', '3']);
    assert.equal(seen.status, 0, seen.stderr);
    const groups = (JSON.parse(seen.stdout) as { groups: { groupName: string; nodeIds: string[] }[] }).groups;
    return groups.find((g) => g.groupName === 'lan test')?.nodeIds.length === 5;
  }, 'the stranger to see all five members announced', { timeoutMs: 30_000, intervalMs: 100 });
  // ...but no RPC of its completes: not plaintext on the peer port...
  const plain = runCli(net, stranger, ['status', '--peer', `${h1.address}:7400`, '--json']);
  assert.notEqual(plain.status, 0, 'a plaintext call to the TLS peer port fails');
  // ...and not a join with a certificate from another secret, by address or by mDNS.
  const otherFounder = new CliProcess(net, stranger, ['peer', '--data', join(dir, 'other'), '--create-group', 'other']);
  group.extra.push(otherFounder);
  const otherCode = await otherFounder.line(/^invite code: (\S+)$/);
  const intruder = new CliProcess(net, stranger, [
    'peer', '--data', join(dir, 'intruder'), '--join-code', otherCode, '--join', `${h1.address}:7400`, '--listen', '0.0.0.0:7500',
  ]);
  group.extra.push(intruder);
  await intruder.line(/^listening on (\S+)$/);
  // Wait until its join loop is over: refused by our group's member, it ends up in its own group
  // (found by mDNS on its host). Only then is "nobody was added" a settled answer.
  await waitFor(() => intruder.errorOutput.includes(`"address":"${h1.address}:7400"`) && intruder.errorOutput.includes('join attempt failed') &&
    intruder.errorOutput.includes('member of the group'), 'the intruder to be refused, then to join its own group', { timeoutMs: 30_000, intervalMs: 100 });
  const after = statusOf(net, h1);
  assert.deepEqual([after?.voters.length, after?.learners.length], [5, 0], 'nobody was added');
});
