import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberStatus, PeerStatus } from '../../common/chat-api.js';
import { deriveGroupStatus, hasQuorum } from '../../renderer/src/logic/group-status.js';

function member(id: string, reachable: boolean, role: MemberStatus['role'] = 'voter'): MemberStatus {
  return { id, address: `127.0.0.1:${id}`, role, matchIndex: 0, reachable, lastContact: reachable ? 1 : null };
}

function status(self: string, leader: string | null, members: MemberStatus[]): PeerStatus {
  return {
    id: self, pid: 1, role: self === leader ? 'leader' : 'follower', term: 3, leader, commitIndex: 10, appliedIndex: 10,
    members, firstIndex: 1, lastIndex: 10, snapshotIndex: 0, autopilot: [], timeline: [], dynamicMembership: false,
  };
}

test('connected: a reachable leader and a majority of voters', () => {
  const s = status('n1', 'n3', ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => member(id, true)));
  const v = deriveGroupStatus({ connected: true, status: s });
  assert.equal(v.kind, 'connected');
  assert.equal(v.text, 'Connected — leader n3, 5 of 5 peers reachable');
});

test('this peer counts as reachable even when its own row says otherwise', () => {
  const s = status('n1', 'n1', [member('n1', false), member('n2', true), member('n3', false)]);
  const v = deriveGroupStatus({ connected: true, status: s });
  assert.equal(v.kind, 'connected');
  assert.equal(v.text, 'Connected — leader n1, 2 of 3 peers reachable');
});

test('no quorum: too few voters reachable, or no leader', () => {
  const few = status('n1', 'n1', [member('n1', true), member('n2', true), member('n3', false), member('n4', false), member('n5', false)]);
  const v = deriveGroupStatus({ connected: true, status: few });
  assert.equal(v.kind, 'no-quorum');
  assert.equal(v.text, 'No quorum — 2 of 5 peers reachable; your messages will be sent when the group is back');
  const leaderless = status('n1', null, ['n1', 'n2', 'n3'].map((id) => member(id, true)));
  assert.equal(deriveGroupStatus({ connected: true, status: leaderless }).kind, 'no-quorum');
  const leaderGone = status('n1', 'n2', [member('n1', true), member('n2', false), member('n3', true)]);
  assert.equal(hasQuorum(leaderGone), false);
});

test('learners do not count towards the majority of voters', () => {
  const s = status('n1', 'n1', [member('n1', true), member('n2', false), member('n3', false), member('l1', true, 'learner'), member('l2', true, 'learner')]);
  const v = deriveGroupStatus({ connected: true, status: s });
  assert.equal(v.kind, 'no-quorum');
  assert.equal(v.reachable, 3);
});

test('a newer group event overrides the leader', () => {
  const s = status('n1', 'n2', ['n1', 'n2', 'n3'].map((id) => member(id, true)));
  assert.equal(deriveGroupStatus({ connected: true, status: s, eventLeader: 'n3' }).text, 'Connected — leader n3, 3 of 3 peers reachable');
  assert.equal(deriveGroupStatus({ connected: true, status: s, eventLeader: null }).kind, 'no-quorum');
});

test('disconnected and loading', () => {
  assert.equal(deriveGroupStatus({ connected: false, status: null }).text, 'Disconnected from your peer — reconnecting');
  assert.equal(deriveGroupStatus({ connected: true, status: null }).kind, 'loading');
  assert.equal(deriveGroupStatus({ connected: true, status: status('n1', null, []) }).kind, 'loading');
});
