// A real five-peer group: `quorum-chat peer` processes on loopback, killed with SIGKILL and
// restarted from their data directories. One file, so that only one group runs at a time on
// a small machine (the failover bounds below are about the group, not about CPU contention).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it, type TestContext } from 'node:test';
import { ChatClient, randomClientId, type ChatClientOptions, type RequestId } from '../../main/cli/chat-client.js';
import type { LocalGroup } from '../../main/cli/local-group.js';
import { TlsGroup, type TlsMember } from '../../scripts/bench/tls-group.js';
import { freePorts } from '../helpers/ports.js';
import { PowerCutDisk, powerCutSeed, powerCutUnavailable, type CutReport, type PowerCutOptions } from '../helpers/power-cut.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';
import { removeTestData, runCli, TestCluster, type ReplicaContents, type TestClusterOptions } from './harness.js';
import { SendPump } from './pump.js';

const password = 'correct horse battery';
/** A test that hangs fails instead (and its after hooks still kill every peer). */
const bounded = { timeout: 180_000 };
const as = (username: string) => ({ credentials: { username, password } });

function rid(): RequestId {
  return { clientId: randomClientId(), seq: 1 };
}

/** A pump that is ended when the test ends, however it ends. */
function startPump(t: TestContext, ...args: ConstructorParameters<typeof SendPump>): SendPump {
  const pump = new SendPump(...args);
  t.after(() => pump.abandon());
  return pump;
}

async function startCluster(t: TestContext, options: TestClusterOptions = {}): Promise<TestCluster> {
  const cluster = await TestCluster.start(options);
  t.after(() => cluster.destroy());
  return cluster;
}

async function registerOn(cluster: TestCluster, peers: Record<string, string>): Promise<void> {
  for (const [user, peer] of Object.entries(peers)) await cluster.client(peer).register(rid(), user, password);
}

async function login(client: ChatClient, user: string): Promise<string> {
  const reply = await client.login(rid(), user, password);
  return reply.token;
}

/** Every acknowledged text exactly once, nothing else duplicated, identical chat tables. */
function assertReplicasAgree(replicas: Map<string, ReplicaContents>, acked: readonly string[]): void {
  const [first, ...rest] = [...replicas.entries()];
  assert.ok(first !== undefined);
  for (const [id, r] of replicas) {
    const missing = acked.filter((text) => r.textCounts.get(text) !== 1);
    assert.deepEqual(missing.slice(0, 5), [], `${id}: acknowledged sends missing or stored twice (${missing.length} in all)`);
    const twice = [...r.textCounts].filter(([, n]) => n > 1);
    assert.deepEqual(twice.slice(0, 5), [], `${id}: texts stored more than once`);
  }
  for (const [id, r] of rest) {
    assert.equal(r.appliedIndex, first[1].appliedIndex, `${id} applied up to another index than ${first[0]}`);
    assert.equal(r.hash, first[1].hash, `${id}'s chat tables differ from ${first[0]}'s`);
  }
}

/**
 * Waits for every running peer to catch up, then stops all and reads the replicas. Gracefully
 * (SIGTERM): a peer commits its applies to chat.db a few milliseconds later, so a SIGKILL now
 * would leave them to be applied again at the next start, not in the file read here. Followers
 * first: a leader stopping hands leadership over, and a new leader's first entry would reach
 * some replicas and not others if they were stopping at the same time.
 */
async function settleAndRead(cluster: TestCluster): Promise<Map<string, ReplicaContents>> {
  await cluster.converged();
  const leader = (await cluster.leader()).id;
  await Promise.all(cluster.group.runningIds().filter((id) => id !== leader).map((id) => cluster.group.kill(id, 'SIGTERM')));
  await cluster.group.stopAll('SIGTERM');
  return cluster.replicas();
}

describe('a real five-peer group', () => {
  it('serves users registered on different peers; a message sent through any peer is readable through every peer', bounded, async (t) => {
    const cluster = await startCluster(t);
    await registerOn(cluster, { alice: 'peer1', bob: 'peer2', carol: 'peer3' });
    let index = 0;
    for (const id of cluster.ids) {
      const reply = await cluster.client(id, as('alice')).send(rid(), 'bob', `hello via ${id}`);
      index = Math.max(index, reply.appliedIndex);
    }
    const expected = cluster.ids.map((id) => `hello via ${id}`);
    for (const id of cluster.ids) {
      const history = await cluster.client(id, as('bob')).history('alice', {}, { minIndex: index });
      assert.deepEqual(history.messages.map((m) => m.text), expected, `history through ${id}`);
      assert.ok(history.messages.every((m) => m.from === 'alice' && m.to === 'bob'));
      const unread = await cluster.client(id, as('bob')).unread({ minIndex: index });
      assert.equal(unread.total, expected.length, `unread through ${id}`);
    }
    const accounts = await cluster.client('peer5', as('carol')).listAccounts('*', {}, { minIndex: index });
    assert.deepEqual(accounts.accounts.map((a) => a.username), ['alice', 'bob', 'carol']);
  });

  it('the quorum-chat command: JSON on stdout, one clear line on stderr on failure', bounded, async (t) => {
    const cluster = await startCluster(t);
    const [p1, p2, p3] = cluster.ids.map((id) => cluster.address(id)) as [string, string, string];
    const env = { QUORUM_CHAT_PASSWORD: password };
    const ok = async (args: string[], extra: Record<string, string> = {}) => {
      const run = await runCli(args, { ...env, ...extra });
      assert.equal(run.code, 0, `quorum-chat ${args.join(' ')}: ${run.stderr}`);
      return run.stdout;
    };
    await ok(['client', '--peer', p1, 'register', '--user', 'dave']);
    await ok(['client', 'register', '--peer', p2, '--user', 'erin']);
    const login = JSON.parse(await ok(['client', '--json', '--peer', p3, '--user', 'dave', 'login'])) as { token: string };
    assert.match(login.token, /\S{16,}/);
    const sent = JSON.parse(await ok(['client', 'send', 'erin', 'hi erin', '--peer', p2, '--json'], { QUORUM_CHAT_TOKEN: login.token }));
    assert.ok(sent.messageId > 0);
    const read = JSON.parse(await ok(['client', '--peer', p1, '--json', '--user', 'erin', '--min-index', String(sent.appliedIndex), 'read']));
    assert.deepEqual(read.messages.map((m: { text: string }) => m.text), ['hi erin']);
    const status = JSON.parse(await ok(['status', '--peer', p1, '--json']));
    for (const field of ['id', 'pid', 'role', 'term', 'leader', 'commitIndex', 'appliedIndex', 'members']) assert.ok(field in status, field);
    assert.equal(status.members.length, 5);
    assert.deepEqual(Object.keys(status.members[0]).sort(), ['address', 'id', 'matchIndex', 'reachable', 'role'].sort());
    // Every peer, followers included, sees all five members as reachable in a healthy group.
    for (const id of cluster.ids) {
      const seen = await waitFor(async () => {
        const s = JSON.parse(await ok(['status', '--peer', cluster.address(id), '--json'])) as { members: { reachable: boolean }[] };
        return s.members.every((m) => m.reachable) && s;
      }, `${id} to see every member reachable`, { timeoutMs: 15_000, intervalMs: 200 });
      assert.equal(seen.members.length, 5);
    }

    const failures: [string[], RegExp][] = [
      [['client', '--peer', p1, '--user', 'dave', 'send', 'bob', 'hello?'], /^no such user: bob$/],
      [['client', '--peer', p1, '--user', 'dave', '--password', 'not the password', 'unread'], /^wrong password$/],
      [['status', '--peer', '127.0.0.1:1'], /^cannot reach 127\.0\.0\.1:1/],
    ];
    for (const [args, message] of failures) {
      const run = await runCli(args, env);
      assert.notEqual(run.code, 0, args.join(' '));
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line: ${run.stderr}`);
      assert.match(run.stderr.trim(), message);
    }
  });

  it('SIGKILL of the leader during a stream of sends: a new leader within 2 s, the stream goes on, nothing lost or doubled', bounded, async (t) => {
    const cluster = await startCluster(t);
    await registerOn(cluster, { alice: 'peer1', bob: 'peer2' });
    const old = await cluster.leader();
    const via = cluster.ids.find((id) => id !== old.id) as string;
    const client = cluster.client(via, { credentials: { token: await login(cluster.client(via), 'alice') } });
    const pump = startPump(t, client, { to: 'bob', clientId: 'stream-1', inFlight: 32 });
    await pump.waitAcked(300);

    const killedAt = Date.now();
    await cluster.kill(old.id);
    const next = await cluster.leader({ notIn: [old.id], timeoutMs: 10_000, intervalMs: 20 });
    const failoverMs = Date.now() - killedAt;
    t.diagnostic(`new leader ${next.id} (term ${next.term}) ${failoverMs} ms after SIGKILL of ${old.id}`);
    assert.ok(failoverMs <= 2_000, `new leader after ${failoverMs} ms`);
    assert.ok(next.term > old.term);

    const ackedAtFailover = pump.acked.length;
    await pump.waitAcked(ackedAtFailover + 300);
    await pump.stop();
    t.diagnostic(`${pump.acked.length} sends acknowledged, ${pump.errors.length} failed attempts retried with the same request id`);
    await cluster.restart(old.id);
    assertReplicasAgree(await settleAndRead(cluster), pump.acked);
  });

  it('keeps serving with two peers down; with three down writes fail with no quorum, and a retry applies once', bounded, async (t) => {
    const cluster = await startCluster(t);
    await registerOn(cluster, { alice: 'peer1', bob: 'peer2' });
    const acked: string[] = [];
    const send = async (peer: string, text: string) => {
      await cluster.client(peer, as('alice')).send(rid(), 'bob', text);
      acked.push(text);
    };
    const leader = await cluster.leader();
    const [second, third] = cluster.ids.filter((id) => id !== leader.id) as [string, string, ...string[]];
    await send(leader.id, 'before any failure');
    await cluster.kill(leader.id);
    await cluster.kill(second);
    await cluster.leader({ timeoutMs: 10_000 });
    for (const id of cluster.group.runningIds()) await send(id, `with two down, via ${id}`);
    const history = await cluster.client(third, as('bob')).history('alice', {}, { linearizable: true });
    assert.deepEqual(history.messages.map((m) => m.text), acked);

    await cluster.kill(third);
    const [survivor] = cluster.group.runningIds() as [string];
    const retryArgs = ['client', '--peer', cluster.address(survivor), '--user', 'alice', '--json',
      '--request-id', 'retry-client:1', 'send', 'bob', 'sent during no quorum'];
    const refused = await runCli(retryArgs, { QUORUM_CHAT_PASSWORD: password });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr.trim(), /^no quorum: [0-2] of 5 peers reachable$/);
    assert.ok(refused.ms < 12_000, `the refusal took ${refused.ms} ms`);

    await Promise.all([leader.id, second, third].map((id) => cluster.restart(id)));
    await cluster.leader();
    const retried = await runCli(retryArgs, { QUORUM_CHAT_PASSWORD: password });
    assert.equal(retried.code, 0, retried.stderr);
    acked.push('sent during no quorum');
    const again = await runCli(retryArgs, { QUORUM_CHAT_PASSWORD: password });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).duplicate, true, 'a second retry returns the first result');
    assertReplicasAgree(await settleAndRead(cluster), acked);
  });

  it('a session token stays valid across a leader failover and on every other peer', bounded, async (t) => {
    const cluster = await startCluster(t);
    await registerOn(cluster, { alice: 'peer1', bob: 'peer2' });
    const token = await login(cluster.client('peer1'), 'alice');
    const withToken = (id: string) => cluster.client(id, { credentials: { token } });
    for (const id of cluster.ids) await withToken(id).send(rid(), 'bob', `token works on ${id}`);
    const old = await cluster.leader();
    await cluster.kill(old.id);
    await cluster.leader({ notIn: [old.id], timeoutMs: 10_000 });
    let index = 0;
    for (const id of cluster.group.runningIds()) index = (await withToken(id).send(rid(), 'bob', `after failover on ${id}`)).appliedIndex;
    for (const id of cluster.group.runningIds()) {
      const history = await withToken(id).history('bob', { limit: 20 }, { minIndex: index });
      assert.equal(history.messages.length, 5 + cluster.group.runningIds().length, `history through ${id}`);
    }
  });

  /**
   * A follower is stopped while 20,000 messages are sent (every peer compacts its log every
   * 1,000 entries), then restarted: it catches up and every replica agrees.
   */
  async function catchUpAfter20k(t: TestContext, replayEntryBytes?: number): Promise<{ lagging: string; log: string }> {
    const cluster = await startCluster(t, { snapshotEvery: 1_000, replayEntryBytes });
    await registerOn(cluster, { alice: 'peer1', bob: 'peer2' });
    const leader = await cluster.leader();
    const lagging = cluster.ids.find((id) => id !== leader.id) as string;
    const before = await cluster.status(lagging);
    await cluster.kill(lagging);

    const senders = cluster.group.runningIds();
    const tokens = await Promise.all(senders.map((id) => login(cluster.client(id), 'alice')));
    const started = Date.now();
    const pumps = senders.map((id, i) => startPump(t, cluster.client(id, { credentials: { token: tokens[i] as string } }),
      { to: 'bob', clientId: `bulk-${i}`, inFlight: 48, total: 20_000 / senders.length }));
    await Promise.all(pumps.map((p) => p.finished()));
    const acked = pumps.flatMap((p) => p.acked);
    t.diagnostic(`20,000 sends acknowledged in ${Date.now() - started} ms`);
    assert.equal(acked.length, 20_000);

    const compacted = await cluster.leader();
    assert.ok(compacted.firstIndex > before.lastIndex + 1,
      `the leader's log in memory starts at ${compacted.firstIndex}: entries after ${before.lastIndex} are below its snapshot`);
    await cluster.restart(lagging);
    await cluster.converged(120_000);
    const caughtUp = await cluster.status(lagging);
    t.diagnostic(`${lagging} stopped at index ${before.lastIndex}; leader's log ${compacted.firstIndex}..${compacted.lastIndex}, ` +
      `snapshot at ${compacted.snapshotIndex}; ${lagging} now has a snapshot at ${caughtUp.snapshotIndex}`);
    const log = cluster.log(lagging);
    assertReplicasAgree(await settleAndRead(cluster), acked);
    return { lagging, log };
  }

  const installed = /"msg":"installed a snapshot from the leader"/;

  it('a peer that was down while 20,000 messages were sent catches up by a copy of the state, smaller than replaying them', bounded, async (t) => {
    const { lagging, log } = await catchUpAfter20k(t);
    assert.match(log, installed, `${lagging} installed a snapshot`);
  });

  it('a peer that was down while 20,000 messages were sent catches up from the log the leader keeps below its snapshot', bounded, async (t) => {
    const { lagging, log } = await catchUpAfter20k(t, 0);
    assert.doesNotMatch(log, installed, `${lagging} got every entry, no snapshot`);
  });

  it('all five restarted from their data directories, after a crash and after a graceful stop: all data back, no duplicates', bounded, async (t) => {
    const cluster = await startCluster(t);
    await registerOn(cluster, { alice: 'peer3', bob: 'peer4' });
    const token = await login(cluster.client('peer5'), 'alice');
    const pump = startPump(t, cluster.client('peer5', { credentials: { token } }), { to: 'bob', clientId: 'before-restart', total: 300 });
    await pump.finished();
    const expected = [...pump.acked].sort();
    const restartAndCheck = async () => {
      await cluster.group.startAll();
      const leader = await cluster.leader();
      for (const id of cluster.ids) {
        const page = await cluster.client(id, as('bob')).history('alice', { limit: 500 }, { minIndex: leader.commitIndex });
        assert.deepEqual(page.messages.map((m) => m.text).sort(), expected, `history through ${id}`);
      }
    };

    await cluster.converged();
    await cluster.group.stopAll('SIGKILL');
    await restartAndCheck();
    const exits = await cluster.group.stopAll('SIGTERM');
    for (const [id, exit] of exits) assert.deepEqual(exit, { code: 0, signal: null }, `${id} stopped gracefully`);
    await restartAndCheck();
    assertReplicasAgree(await settleAndRead(cluster), pump.acked);
  });

  it('scripts/failover.ts measures leader failover (smoke run, one trial)', bounded, async (t) => {
    const out = `${tempDir(t, 'quorum-failover-')}/failover.json`;
    const script = fileURLToPath(new URL('../../scripts/failover.ts', import.meta.url));
    await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--trials', '1', '--out', out],
      { env: { ...process.env, QUORUM_CHAT_LOG: 'silent' }, timeout: 120_000 });
    const result = JSON.parse(readFileSync(out, 'utf8')) as { trials: number; samplesMs: number[]; maxMs: number };
    assert.equal(result.trials, 1);
    assert.equal(result.samplesMs.length, 1);
    assert.ok(result.maxMs > 0 && result.maxMs < 5_000, `failover took ${result.maxMs} ms`);
  });
});

/**
 * Each peer's data directory (`<dir>/<id>`) on a disk of its own that can lose its power or fill
 * up. The after hook runs `stopPeers` (nothing may use a disk when it goes), unmounts the disks
 * and removes `dir`.
 */
function failingDisks(t: TestContext, dir: string, stopPeers: () => Promise<unknown>) {
  const disks = new Map<string, PowerCutDisk>();
  t.after(async () => {
    await stopPeers();
    for (const disk of disks.values()) await disk.unmount();
    removeTestData(dir);
  });
  t.diagnostic(`power cuts with QUORUM_POWER_CUT_SEED=${powerCutSeed}`);
  const mount = async (id: string, options: PowerCutOptions) => {
    disks.set(id, await PowerCutDisk.mount(join(dir, `disk-${id}`), join(dir, id), options));
  };
  return {
    mount,
    freeSpace: (id: string) => (disks.get(id) as PowerCutDisk).freeSpace(),
    /** SIGKILL, then the power cut; the disks come back mounted with `next` for the next cut. */
    cut: async (group: LocalGroup, victims: readonly string[], next: PowerCutOptions): Promise<CutReport[]> => {
      await Promise.all(victims.map((id) => group.kill(id)));
      const reports = await Promise.all(victims.map((id) => (disks.get(id) as PowerCutDisk).cut()));
      victims.forEach((id, i) => t.diagnostic(`${id}: power cut after ${reports[i]?.syncs} syncs; ` +
        `${reports[i]?.unsyncedPages} unsynced pages lost, ${reports[i]?.keptPages} kept`));
      await Promise.all(victims.map((id, i) => mount(id, { ...next, seed: powerCutSeed + i })));
      return reports;
    },
  };
}

/** Every text of `client`'s conversation with `other`, page by page, as of `minIndex`. */
async function conversation(client: ChatClient, other: string, minIndex: number): Promise<string[]> {
  const texts: string[] = [];
  for (let cursor = ''; ;) {
    const page = await client.history(other, { limit: 500, cursor }, { minIndex });
    texts.push(...page.messages.map((m) => m.text));
    if (page.next === '') return texts;
    cursor = page.next;
  }
}

/** Three peers, each on a failing disk (mounted with `disk(id)`), alice and bob registered. */
async function groupOnFailingDisks(t: TestContext, options: { snapshotEvery?: number; disk?: (id: string) => PowerCutOptions } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-failing-disks-'));
  let cluster: TestCluster | null = null;
  const disks = failingDisks(t, dir, async () => cluster?.destroy());
  for (const id of ['peer1', 'peer2', 'peer3']) await disks.mount(id, options.disk?.(id) ?? {});
  cluster = await TestCluster.start({ size: 3, dir, snapshotEvery: options.snapshotEvery });
  await registerOn(cluster, { alice: 'peer1', bob: 'peer2' });
  return { cluster, disks, ids: cluster.ids };
}

describe('disks that fail: power cuts and a full disk (each peer on a FUSE disk that keeps only what was synced)', { skip: powerCutUnavailable() ?? false }, () => {
  it('the leader loses power, then the whole group twice: every acknowledged message is back exactly once, and the login still works', bounded, async (t) => {
    // Compactions every 150-300 entries: cuts land before, during and after them.
    const { cluster, disks, ids } = await groupOnFailingDisks(t, { snapshotEvery: 300 });
    const token = await login(cluster.client('peer3'), 'alice');
    const pump = startPump(t, cluster.client('peer3', { credentials: { token } }), { to: 'bob', clientId: 'power-cut', inFlight: 16 });
    await pump.waitAcked(200);

    // The leader's power goes: the other two elect a leader and go on; it comes back behind them.
    const leader = (await cluster.leader()).id;
    await disks.cut(cluster.group, [leader], {});
    await cluster.leader({ notIn: [leader], timeoutMs: 20_000 });
    await cluster.restart(leader);
    await pump.waitAcked(pump.acked.length + 150, 60_000);

    // The whole group's power goes, QUORUM_POWER_CUTS times (2 by default; more for a soak): every
    // unsynced write lost, then a random half of the unsynced pages kept, and so on.
    const wholeGroupCuts = Number(process.env.QUORUM_POWER_CUTS ?? 2);
    for (let i = 0; i < wholeGroupCuts; i++) {
      const reports = await disks.cut(cluster.group, ids, i % 2 === 0 ? { keepUnsynced: 0.5 } : {});
      assert.ok(reports.some((r) => r.unsyncedPages > 0), 'the cut lost unsynced writes (chat.db is not synced until a compaction)');
      await cluster.group.startAll();
      await cluster.leader({ timeoutMs: 30_000 });
      await pump.waitAcked(pump.acked.length + 150, 60_000);
    }
    await pump.stop();

    const { commitIndex } = await cluster.leader();
    for (const id of ids) {
      const texts = await conversation(cluster.client(id, { credentials: { token } }), 'bob', commitIndex);
      assert.deepEqual(texts.sort(), [...pump.acked].sort(), `alice's history through ${id}, with the token of before the cuts`);
    }
    assertReplicasAgree(await settleAndRead(cluster), pump.acked);
  });

  it('a follower whose disk fills up stops with a clear error and loses nothing; with room again it catches up', bounded, async (t) => {
    // peer3's disk holds 3 MB: its WALs alone outgrow that within a few hundred writes.
    const { cluster, disks } = await groupOnFailingDisks(t, { disk: (id) => (id === 'peer3' ? { capacity: 3 << 20 } : {}) });
    const via = (await cluster.leader()).id === 'peer1' ? 'peer2' : 'peer1';
    const token = await login(cluster.client(via), 'alice');
    const pump = startPump(t, cluster.client(via, { credentials: { token } }), { to: 'bob', clientId: 'disk-full', inFlight: 16 });
    await waitFor(() => !cluster.group.isRunning('peer3'), 'peer3 to stop on its full disk', { timeoutMs: 120_000, intervalMs: 50 });
    const log = cluster.log('peer3');
    assert.match(log, /"err":"database or disk is full","msg":"storage failed: stopping"/, `peer3 logs why it stopped:\n${cluster.logTail('peer3')}`);
    assert.match(log, /^quorum-chat: the peer stopped: database or disk is full$/m, 'and says it in one line');
    assert.doesNotMatch(log, /^\s+at /m, 'no stack trace');

    const ackedWhileFull = pump.acked.length;
    await pump.waitAcked(ackedWhileFull + 150, 60_000); // two of three go on
    await disks.freeSpace('peer3');
    await cluster.restart('peer3');
    await pump.waitAcked(pump.acked.length + 100, 60_000);
    await pump.stop();
    assertReplicasAgree(await settleAndRead(cluster), pump.acked);
  });

  it('a follower that loses power in the middle of installing a snapshot finishes the install at its restart', bounded, async (t) => {
    const { cluster, disks, ids } = await groupOnFailingDisks(t, { snapshotEvery: 300 });
    const leader = (await cluster.leader()).id;
    const lagging = ids.find((id) => id !== leader) as string;
    await cluster.kill(lagging);
    const token = await login(cluster.client(leader), 'alice');
    // 3,000 behind on a small store: a copy of chat.db costs it less than the entries.
    const pump = startPump(t, cluster.client(leader, { credentials: { token } }), { to: 'bob', clientId: 'install-cut', inFlight: 32, total: 3_000 });
    await pump.finished();

    await cluster.restart(lagging, { QUORUM_CHAT_CRASH_AT: 'snapshot-install:recorded' });
    await waitFor(() => !cluster.group.isRunning(lagging), `${lagging} to die at snapshot-install:recorded`, { timeoutMs: 60_000, intervalMs: 50 });
    await disks.cut(cluster.group, [lagging], {}); // the copy is recorded in raft.db, chat.db not yet replaced
    await cluster.restart(lagging);
    assertReplicasAgree(await settleAndRead(cluster), pump.acked);
  });

  it('a LAN group (mutual TLS, joined by invite code) loses power as a whole: each peer comes back from --data alone, with every acknowledged message', bounded, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'quorum-power-cut-'));
    const ports = await freePorts(6);
    // Bound to loopback: no mDNS leaves the machine (a peer bound to one address announces only there).
    const members: TlsMember[] = [0, 1, 2].map((i) => ({
      id: `peer${i + 1}`, address: `127.0.0.1:${ports[2 * i] as number}`, listen: `127.0.0.1:${ports[2 * i] as number}`,
      clientAddress: `127.0.0.1:${ports[2 * i + 1] as number}`, dataDir: join(dir, `peer${i + 1}`),
    }));
    const group = new TlsGroup(members, { logDir: dir, env: { ...process.env, QC_AUTOPILOT_STABILIZATION_MS: '500' } });
    const clients: ChatClient[] = [];
    const client = (m: TlsMember, options: ChatClientOptions = {}) => {
      const c = new ChatClient(m.clientAddress, { deadlineMs: 10_000, ...options });
      clients.push(c);
      return c;
    };
    const disks = failingDisks(t, dir, async () => {
      for (const c of clients) c.close();
      await group.stopAll('SIGKILL');
    });
    for (const m of members) await disks.mount(m.id, {});
    await group.found();
    const founder = client(members[0] as TlsMember);
    const voters = () => waitFor(async () => {
      const status = await founder.status().catch(() => null);
      return status !== null && status.members.filter((m) => m.role === 'voter').length === 3 && status.leader !== '' ? status : undefined;
    }, 'a leader and three voters (autopilot promotes the joiners)', { timeoutMs: 60_000, intervalMs: 100 });
    await voters();
    await client(members[0] as TlsMember).register(rid(), 'alice', password);
    await client(members[1] as TlsMember).register(rid(), 'bob', password);
    const token = await login(client(members[2] as TlsMember), 'alice');
    const pump = startPump(t, client(members[2] as TlsMember, { credentials: { token } }), { to: 'bob', clientId: 'lan-power-cut', inFlight: 16 });
    await pump.waitAcked(150);

    const reports = await disks.cut(group, members.map((m) => m.id), {});
    assert.ok(reports.every((r) => r.unsyncedPages > 0), 'each peer lost unsynced writes');
    for (const m of members) await group.start(m.id); // --data only: group.json, key, certificate, peer.json and members.json read back
    await voters();
    await pump.waitAcked(pump.acked.length + 100, 60_000);
    await pump.stop();
    const leaderId = (await voters()).leader;
    const leader = members.find((m) => m.id === leaderId) as TlsMember;
    const { commitIndex } = await client(leader).status(); // covers every acknowledged send
    for (const m of members) {
      const texts = await conversation(client(m, { credentials: { token } }), 'bob', commitIndex);
      assert.deepEqual(texts.sort(), [...pump.acked].sort(), `alice's history through ${m.id}`);
    }
  });
});
