// The ChatApi members the desktop UI's admin panel and conversation list use: status with
// last contact, the election timeline and dynamicMembership; removeMember; conversations().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatApi } from '../../common/chat-api.js';
import { createGroupSecret } from '../../main/security/group-secret.js';
import { password, TestClient } from '../helpers/grpc-client.js';
import { PeerGroup } from '../helpers/peer-group.js';
import { waitFor } from '../helpers/wait.js';

describe('status and membership in a static group', () => {
  let group: PeerGroup;
  before(async () => {
    group = await PeerGroup.start({ size: 3 });
  });
  after(async () => {
    await group?.stop();
  });

  test('status tells when each member was last heard from, and that membership is fixed', async () => {
    const leader = await group.leader();
    const api = group.server(leader).session();
    const before = Date.now();
    const status = await waitFor(async () => {
      const s = await api.status();
      return s.members.every((m) => m.lastContact !== null) && s;
    }, 'every member heard from');
    assert.equal(status.dynamicMembership, false);
    const self = status.members.find((m) => m.id === status.id);
    assert.ok(self !== undefined && self.lastContact !== null && self.lastContact >= before, 'itself: now');
    for (const m of status.members) assert.ok((m.lastContact as number) > before - 10_000, `${m.id} heard recently`);
  });

  test('the timeline has the election and the leader it produced', async () => {
    const leader = await group.leader();
    const { timeline, id, term } = await group.server(leader).session().status();
    const elected = [...timeline].reverse().find((e) => e.kind === 'leader');
    assert.deepEqual({ node: elected?.node, term: elected?.term }, { node: id, term });
    assert.ok(timeline.some((e) => e.kind === 'election' && e.node === id && e.at <= (elected as { at: number }).at), JSON.stringify(timeline));
    for (const e of timeline) assert.ok(Number.isSafeInteger(e.at) && e.at > 0);
  });

  test('removeMember is refused: the membership of a static group is fixed (in-process and over gRPC)', async () => {
    const api = group.server(0).session();
    await assert.rejects(api.removeMember('p2'), { code: 'unavailable', message: /static group/ });
    // The leader hears from everyone (followers rarely hear from each other).
    const client = new TestClient(group.addresses[await group.leader()] as string);
    try {
      assert.equal((await client.failure('RemoveMember', { id: 'p2' })).code, 'unavailable');
      const status = await client.call<{ dynamicMembership: boolean; members: { id: string; lastContact: string }[] }>('Status');
      assert.equal(status.dynamicMembership, false);
      await waitFor(async () => (await client.call<typeof status>('Status')).members.every((m) => Number(m.lastContact) > 0), 'contact with all');
    } finally {
      client.close();
    }
  });
});

describe('removing members of a LAN group', () => {
  let group: PeerGroup;
  before(async () => {
    group = await PeerGroup.start({ size: 3, secret: createGroupSecret(), membership: true });
  });
  after(async () => {
    await group?.stop();
  });

  test('an unknown member or a bad id is an invalid argument', async () => {
    const api = group.server(0).session();
    assert.equal((await api.status()).dynamicMembership, true);
    await assert.rejects(api.removeMember('nobody'), { code: 'invalid-argument', message: /not a member/ });
    await assert.rejects(api.removeMember(42 as unknown as string), { code: 'invalid-argument' });
    await assert.rejects(api.removeMember(''), { code: 'invalid-argument' });
  });

  test('a leadership transfer shows on the timeline of every peer', async () => {
    const from = await group.leader();
    const to = (from + 1) % 3;
    const target = group.server(to).peer.id;
    const status = await group.server(from).session().transferLeadership(target);
    assert.equal(status.leader, target);
    for (const i of [0, 1, 2]) {
      await waitFor(async () => (await group.server(i).session().status()).timeline.at(-1)?.node === target, `peer ${i} records ${target} leading`);
    }
  });

  test('a follower removes another member through the leader, and its own view shows it gone', async () => {
    const leader = await group.leader();
    const [asking, removed] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    const removedId = group.server(removed).peer.id;
    const status = await group.server(asking).session().removeMember(removedId);
    assert.deepEqual(status.members.map((m) => m.id).sort(), [0, 1, 2].filter((i) => i !== removed).map((i) => group.server(i).peer.id).sort());
    await waitFor(async () => !(await group.server(leader).session().status()).members.some((m) => m.id === removedId), 'the leader to drop it');
    await group.stopPeer(removed);
    // The two left still commit.
    const api: ChatApi = group.server(asking).session();
    await api.register('after-removal', password);
  });
});

describe('the last voter', () => {
  let group: PeerGroup;
  before(async () => {
    group = await PeerGroup.start({ size: 1, secret: createGroupSecret(), membership: true });
  });
  after(async () => {
    await group?.stop();
  });

  test('cannot be removed', async () => {
    await assert.rejects(group.server(0).session().removeMember('p1'), { code: 'invalid-argument', message: /last voter/ });
    assert.equal((await group.server(0).session().status()).members.length, 1);
  });
});

describe('conversations()', () => {
  let group: PeerGroup;
  before(async () => {
    group = await PeerGroup.start({ size: 1 });
  });
  after(async () => {
    await group?.stop();
  });

  test('the caller\'s direct conversations, most recent first, with the last message and unread count, paged', async () => {
    const server = group.server(0);
    for (const name of ['ann', 'ben', 'cat', 'dan']) await server.session().register(name, password);
    const as = (name: string) => server.session({ username: name, password });
    await as('ann').sendDirect('ben', 'hi ben');
    await as('cat').sendDirect('ann', 'hi ann, from cat');
    await as('cat').sendDirect('ann', 'are you there?');
    await as('ben').sendDirect('ann', 'hi ann');
    await as('ben').sendDirect('cat', 'not for ann'); // someone else's conversation
    await as('dan').postChannel('general', 'a post is no conversation').catch(() => undefined);

    const ann = as('ann');
    const all = await ann.conversations();
    assert.deepEqual(all.items.map((c) => [c.with, c.lastMessage.text, c.unread]), [
      ['ben', 'hi ann', 1],
      ['cat', 'are you there?', 2],
    ]);
    assert.equal(all.next, null);

    const first = await ann.conversations({ limit: 1 });
    assert.equal(first.items[0]?.with, 'ben');
    assert.ok(first.next !== null);
    const second = await ann.conversations({ limit: 1, cursor: first.next });
    assert.deepEqual(second.items.map((c) => c.with), ['cat']);
    assert.equal(second.next, null);

    await ann.markRead({ with: 'cat' });
    assert.equal((await ann.conversations()).items.find((c) => c.with === 'cat')?.unread, 0);
    await assert.rejects(ann.conversations({ cursor: 'nonsense' }), { code: 'invalid-argument' });
  });

  test('a deleted account\'s conversation stays, with nobody', async () => {
    const server = group.server(0);
    await server.session().register('eve', password);
    const eve = server.session({ username: 'eve', password });
    await eve.sendDirect('ann', 'bye');
    await eve.deleteAccount();
    const { items } = await server.session({ username: 'ann', password }).conversations();
    assert.deepEqual([items[0]?.with, items[0]?.lastMessage.from, items[0]?.lastMessage.text], [null, null, 'bye']);
  });
});
