// AppHost: from setup to member by founding a group, a second app joining it with the invite
// code through an address (mDNS may not cross loopback), refusals that change nothing, and the
// per-user data folder.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HostState } from '../../common/bridge.js';
import { appDataDir } from '../../main/host/app-data.js';
import { AppHost, type AppHostOptions } from '../../main/host/app-host.js';
import { silentLogger } from '../../main/log/logger.js';
import { createGroupSecret, encodeInviteCode } from '../../main/security/group-secret.js';
import { testScrypt } from '../helpers/chat-replica.js';
import { password } from '../helpers/grpc-client.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

const fastTiming = { tickMs: 10, electionTicks: 10, heartbeatTicks: 2 };

function options(dataDir: string): AppHostOptions {
  return {
    dataDir, logger: silentLogger, listen: '127.0.0.1:0', clientListen: '127.0.0.1:0',
    scrypt: testScrypt, timing: fastTiming, discoverMs: 300,
  };
}

test('a host in setup founds a group, becomes a member and serves chat; a second one joins it by address', async (t) => {
  const dir = tempDir(t, 'quorum-host-');
  const hosts: AppHost[] = [];
  t.after(() => Promise.allSettled(hosts.map((h) => h.stop())));

  const founder = await AppHost.start(options(join(dir, 'a')));
  hosts.push(founder);
  assert.deepEqual(await founder.hostState(), { state: 'setup' });
  assert.equal(await founder.inviteCode(), null);
  assert.throws(() => founder.chatSession(), { code: 'unavailable', message: 'this app is not in a group yet: create or join one' });

  const seen: HostState[] = [];
  founder.on('state', (s) => seen.push(s));
  const created = await founder.createGroup('  Office  ');
  assert.deepEqual(created, { state: 'member', groupName: 'Office', nodeId: created.state === 'member' ? created.nodeId : '', staticGroup: false });
  assert.deepEqual(seen, [created], 'one state event');
  await assert.rejects(founder.createGroup('Again'), { code: 'unavailable' });
  const code = await founder.inviteCode();
  assert.match(code ?? '', /^qc1-/);

  const alice = founder.chatSession();
  await waitFor(() => founder.peer?.server.peer.leaderId() !== null, 'the founder to lead');
  await alice.register('alice', password);

  const joiner = await AppHost.start(options(join(dir, 'b')));
  hosts.push(joiner);
  const states: HostState[] = [];
  joiner.on('state', (s) => states.push(s));
  const address = founder.peer?.addresses[0] as string;
  const joining = await joiner.joinGroup(code as string, address);
  assert.equal(joining.state === 'joining' || joining.state === 'member', true, JSON.stringify(joining));
  await waitFor(() => states.some((s) => s.state === 'member'), 'the joiner to become a member');
  assert.equal(states[0]?.state, 'joining');
  assert.match(await joiner.inviteCode() ?? '', /^qc1-/);

  // The joiner's replica catches up: alice's account is there, and it serves her.
  const onJoiner = joiner.chatSession({ username: 'alice', password });
  const whoami = await waitFor(() => onJoiner.whoami().catch(() => undefined), 'alice on the joiner');
  assert.equal(whoami.account.username, 'alice');
  const status = await joiner.chatSession().status();
  assert.equal(status.dynamicMembership, true);
  assert.ok(status.members.some((m) => m.id === status.id && m.role === 'learner'), 'joined as a learner');
});

test('a bad invite code or address is an invalid argument and writes nothing', async (t) => {
  const dir = tempDir(t, 'quorum-host-');
  const dataDir = join(dir, 'peer');
  const host = await AppHost.start(options(dataDir));
  t.after(() => host.stop());
  await assert.rejects(host.joinGroup('hello'), { code: 'invalid-argument', message: /not a Quorum Chat invite code/ });
  await assert.rejects(host.joinGroup('qc1-AAAA'), { code: 'invalid-argument', message: /wrong length/ });
  await assert.rejects(host.createGroup(''), { code: 'invalid-argument' });
  const valid = encodeInviteCode(createGroupSecret());
  await assert.rejects(host.joinGroup(valid, 'not an address'), { code: 'invalid-argument', message: /host:port/ });
  assert.deepEqual(await host.hostState(), { state: 'setup' });
  assert.ok(!existsSync(dataDir) || readdirSync(dataDir).length === 0, 'no files written');
});

test('a host restarted on its data directory is a member again at once', async (t) => {
  const dir = tempDir(t, 'quorum-host-');
  const first = await AppHost.start(options(dir));
  let stopped = false;
  t.after(() => (stopped ? undefined : first.stop()));
  const created = await first.createGroup('Home');
  await first.stop();
  stopped = true;
  const again = await AppHost.start(options(dir));
  t.after(() => again.stop());
  assert.deepEqual(await again.hostState(), created);
});

test('discoverGroups answers within a moment (whatever mDNS reaches here)', async (t) => {
  const host = await AppHost.start(options(tempDir(t, 'quorum-host-')));
  t.after(() => host.stop());
  const started = Date.now();
  const groups = await host.discoverGroups();
  assert.ok(Array.isArray(groups));
  assert.ok(Date.now() - started < 5_000);
});

test('the per-user data folder follows each platform\'s convention', () => {
  assert.equal(appDataDir('linux', { XDG_CONFIG_HOME: '/x/config' }, '/home/u'), '/x/config/quorum-chat');
  assert.equal(appDataDir('linux', {}, '/home/u'), '/home/u/.config/quorum-chat');
  assert.equal(appDataDir('darwin', {}, '/Users/u'), '/Users/u/Library/Application Support/Quorum Chat');
  assert.match(appDataDir('win32', { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'C:\\Users\\u'), /Roaming.Quorum Chat$/);
});

test('a host stopped while still joining stops cleanly', async (t) => {
  const dir = tempDir(t, 'quorum-host-');
  const host = await AppHost.start(options(dir));
  let stopped = false;
  t.after(() => (stopped ? undefined : host.stop()));
  const joining = await host.joinGroup(encodeInviteCode(createGroupSecret()), '127.0.0.1:9');
  assert.deepEqual(joining, { state: 'joining', groupName: '', nodeId: joining.state === 'joining' ? joining.nodeId : '' });
  assert.equal(await host.inviteCode(), null, 'no invite code before membership');
  assert.throws(() => host.chatSession(), { code: 'unavailable' });
  await host.stop();
  stopped = true;
  assert.equal(host.state.state, 'joining');
});
