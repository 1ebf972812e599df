// chat.db refusing to apply a batch (a full or failing disk): the peer must stop loudly instead
// of going on with a replica that skipped entries, and the group goes on without it. The failure
// is injected by wrapping Storage.applyInOpenTransaction for one follower, which holds its
// entries back (nobody waits on it) and so applies them from its lazy-apply timer.
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { test } from 'node:test';
import { Storage } from '../../main/storage/storage.js';
import { as, TestClient } from '../helpers/grpc-client.js';
import { replaceMethod } from '../helpers/replace-method.js';
import { waitFor } from '../helpers/wait.js';
import { assertStoppedWhileOthersCommit, stoppingGroup } from './failed-peer.js';

let failing = '';
const { fatal, group: running } = stoppingGroup(() => replaceMethod(Storage.prototype, 'applyInOpenTransaction', (apply) => function <T>(this: Storage, run: () => T): T {
  if (basename(this.dir) === failing) throw new Error('SQLITE_FULL: database or disk is full (injected)');
  return apply.call(this, run) as T;
}));

test('a batch chat.db refuses stops the peer; the others go on', async () => {
  const group = running();
  const leader = await group.leader();
  const follower = (leader + 1) % 3;
  const client = new TestClient(group.addresses[leader] as string);
  try {
    await client.register('alice', 'bob');
    const before = group.server(follower).peer.appliedIndex;
    failing = group.server(follower).peer.id;
    await client.call('SendDirect', { to: 'bob', text: 'not on the failing disk' }, as('alice'));
    const err = await waitFor(() => fatal.get(failing), `${failing} to stop on the refused apply`);
    assert.match(err.message, /SQLITE_FULL/);
    assert.equal(group.server(follower).peer.appliedIndex, before, 'nothing after the refused batch was applied');
    await assertStoppedWhileOthersCommit(group, follower, client);
  } finally {
    client.close();
  }
});
