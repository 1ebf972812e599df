// What the fault-injection tests (sync-failure, apply-failure) check once one follower's storage
// has failed: that peer refuses work, and the other two still commit.
import assert from 'node:assert/strict';
import { PeerStoppedError } from '../../main/peer/errors.js';
import { as, type TestClient } from '../helpers/grpc-client.js';
import type { PeerGroup } from '../helpers/peer-group.js';

export async function assertStoppedWhileOthersCommit(group: PeerGroup, stopped: number, client: TestClient): Promise<void> {
  await assert.rejects(group.server(stopped).peer.write({ c: 'x', s: 1, at: 0, t: 'logout', actor: 1, tokenHash: '0'.repeat(64) }), PeerStoppedError);
  const reply = await client.call<{ messageId: number }>('SendDirect', { to: 'bob', text: 'after the failure' }, as('alice'));
  assert.ok(reply.messageId > 0, 'two of three still commit');
}
