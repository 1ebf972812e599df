// `quorum-chat leave` as people run it, against a LAN group of three real `quorum-chat peer`
// processes (invite code, mutual TLS, bound to loopback so no mDNS leaves the machine): another
// member has one that is down removed (--member), which, started again on its old data, is told
// by the leader that it is no longer a member and stops; then a peer leaves by itself and stops.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ChatClient, type StatusReply } from '../../main/cli/chat-client.js';
import { TlsGroup, type TlsMember } from '../../scripts/bench/tls-group.js';
import { freePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { removeTestData, runCli } from './harness.js';

describe('quorum-chat leave', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-leave-'));
  const clients: ChatClient[] = [];
  let group: TlsGroup | null = null;

  after(async () => {
    for (const c of clients) c.close();
    await group?.stopAll('SIGKILL');
    removeTestData(dir);
  });

  it('removes a member that is down (--member, through another peer), which stops when it comes back; a peer that leaves by itself stops', { timeout: 180_000 }, async () => {
    const ports = await freePorts(6);
    const members: TlsMember[] = [0, 1, 2].map((i) => ({
      id: `peer${i + 1}`, address: `127.0.0.1:${ports[2 * i] as number}`, listen: `127.0.0.1:${ports[2 * i] as number}`,
      clientAddress: `127.0.0.1:${ports[2 * i + 1] as number}`, dataDir: join(dir, `peer${i + 1}`),
    }));
    const [first, second, third] = members as [TlsMember, TlsMember, TlsMember];
    group = new TlsGroup(members, { logDir: dir, env: { ...process.env, QC_AUTOPILOT_STABILIZATION_MS: '500' } });
    await group.found();
    const founder = new ChatClient(first.clientAddress, { deadlineMs: 10_000 });
    clients.push(founder);
    const membersAre = (ids: string[], what: string) => waitFor(async () => {
      const status: StatusReply | null = await founder.status().catch(() => null);
      const voters = status?.members.filter((m) => m.role === 'voter').map((m) => m.id).sort();
      return status !== null && status.leader !== '' && JSON.stringify(voters) === JSON.stringify(ids) && status.members.length === ids.length ? status : undefined;
    }, what, { timeoutMs: 60_000, intervalMs: 100 });
    await membersAre(['peer1', 'peer2', 'peer3'], 'three voters (autopilot promotes the joiners)');

    // peer3 must know itself a voter when it comes back: one that comes back a learner (say, its
    // promotion applied but not yet committed to chat.db when it was killed) never writes to the
    // leader, so nobody can tell it (left as it is: main/raft/README.md). Hence a graceful stop.
    const own = new ChatClient(third.clientAddress, { deadlineMs: 10_000 });
    clients.push(own);
    await waitFor(async () => ((await own.status().catch(() => null))?.members.find((m) => m.id === third.id)?.role === 'voter' ? true : undefined),
      'peer3 to have applied its own promotion', { timeoutMs: 60_000, intervalMs: 100 });
    await group.kill(third.id, 'SIGTERM'); // down, then removed
    const removed = await runCli(['leave', '--peer', first.clientAddress, '--member', third.id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout.trim(), 'peer3 has been removed from the group');
    await membersAre(['peer1', 'peer2'], 'peer3 gone from the membership');

    // Back with the data from before its removal: the leader tells it that it is no longer a member, and it stops.
    await group.start(third.id);
    await waitFor(() => !group?.isRunning(third.id), 'peer3 to stop once the leader tells it', { timeoutMs: 30_000 });
    assert.match(readFileSync(join(dir, 'peer3.log'), 'utf8'), /says this peer is no longer a member of the group/);
    await membersAre(['peer1', 'peer2'], 'peer1 and peer2 only, undisturbed');

    const unknown = await runCli(['leave', '--peer', first.clientAddress, '--member', 'nobody', '--json']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /nobody is not a member of this group/);

    const left = await runCli(['leave', '--peer', second.clientAddress, '--json']);
    assert.equal(left.code, 0, left.stderr);
    assert.deepEqual(JSON.parse(left.stdout), { left: 'peer2' });
    await waitFor(() => !group?.isRunning(second.id), 'peer2 to stop once it has left', { timeoutMs: 30_000 });
    await membersAre(['peer1'], 'peer1 alone');
  });
});
