// What the tests of a peer that must stop (sync-failure, apply-failure, lost-log) share: a group
// of three whose fatal stops are recorded, with a fault injected for its lifetime, and the check
// that the stopped peer refuses work while the other two still commit.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { PeerStoppedError } from '../../main/peer/errors.js';
import { as, type TestClient } from '../helpers/grpc-client.js';
import { PeerGroup } from '../helpers/peer-group.js';

export interface StoppingGroup {
  /** The error each peer that stopped was stopped by (PeerOptions.onFatal), by node id. */
  readonly fatal: Map<string, Error>;
  /** The running group (after the before hook). */
  group(): PeerGroup;
}

/**
 * Registers before/after hooks for a group of three recording fatal stops. `inject` (a replaced
 * method, say) runs before the group starts; what it returns undoes it after the group stopped.
 */
export function stoppingGroup(inject: () => () => void = () => () => undefined): StoppingGroup {
  const fatal = new Map<string, Error>();
  let group: PeerGroup | null = null;
  let undo: (() => void) | null = null;
  before(async () => {
    undo = inject();
    group = await PeerGroup.start({ size: 3, onFatal: (id, err) => fatal.set(id, err) });
  });
  after(async () => {
    await group?.stop();
    undo?.();
  });
  return {
    fatal,
    group: () => {
      if (group === null) throw new Error('the group has not started');
      return group;
    },
  };
}

export async function assertStoppedWhileOthersCommit(group: PeerGroup, stopped: number, client: TestClient): Promise<void> {
  await assert.rejects(group.server(stopped).peer.write({ c: 'x', s: 1, at: 0, t: 'logout', actor: 1, tokenHash: '0'.repeat(64) }), PeerStoppedError);
  const reply = await client.call<{ messageId: number }>('SendDirect', { to: 'bob', text: 'after the failure' }, as('alice'));
  assert.ok(reply.messageId > 0, 'two of three still commit');
}
