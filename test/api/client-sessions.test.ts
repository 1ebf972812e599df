// Exactly-once sessions through the API when results expire (main/chat/sessions.ts), on a group
// that keeps them for only 20 log entries (and up to expireEvery more): a peer's own client, idle while the group wrote more
// than that, is told its session is gone and goes on under a new id, writing each message once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SendResult } from '../../common/chat-api.js';
import { expireEvery } from '../../main/chat/sessions.js';
import type { AppliedBatch } from '../../main/peer/peer.js';
import { PeerGroup } from '../helpers/peer-group.js';

const resultsKeptFor = 20;
let group: PeerGroup;

before(async () => {
  group = await PeerGroup.start({ size: 3, sessionLimits: { resultsKeptFor } });
});

after(async () => {
  await group?.stop();
});

test("a peer's own client whose session expired goes on under a new id; nothing is written twice", async () => {
  const quiet = group.server(0).session();
  const busy = group.server(1).session();
  await quiet.register('alice', 'correct horse');
  await quiet.login('alice', 'correct horse');
  await busy.register('bob', 'correct horse');
  await busy.login('bob', 'correct horse');
  // Past sessionWindow (128) sequence numbers, an unknown client can no longer be taken for a new one.
  let lastQuiet = 0;
  for (let i = 0; i < 130; i++) lastQuiet = (await quiet.sendDirect('bob', `before ${i}`)).appliedIndex;
  // Expiry runs at multiples of expireEvery: the first at least resultsKeptFor past the last result.
  const expiredBy = Math.ceil((lastQuiet + resultsKeptFor) / expireEvery) * expireEvery;
  const clients: string[] = [];
  const watch = ({ results }: AppliedBatch) => {
    for (const r of results) if (r.command?.t === 'sendDirect' && r.command.text === 'after') clients.push(`${r.clientId} ${r.result.ok ? 'ok' : r.result.code}`);
  };
  const peer = group.server(0).peer;
  peer.on('applied', watch);
  let sent: SendResult | undefined;
  try {
    for (let i = 0, at = 0; at < expiredBy; i++) at = (await busy.sendDirect('alice', `meanwhile ${i}`)).appliedIndex;
    sent = await quiet.sendDirect('bob', 'after');
  } finally {
    peer.off('applied', watch);
  }
  assert.equal(sent?.duplicate, false);
  assert.equal(clients.length, 2, clients.join('; '));
  const [refused, applied] = clients.map((c) => c.split(' ')) as [[string, string], [string, string]];
  assert.equal(refused[1], 'session-expired');
  assert.equal(applied[1], 'ok');
  assert.notEqual(applied[0], refused[0], 'a new client id');
  const newest = await busy.history('alice', { limit: 3, minIndex: sent?.appliedIndex });
  assert.deepEqual(newest.items.filter((m) => m.text === 'after').length, 1, 'stored once');
});
