// A peer whose data is put back from an older copy (a restored backup, a disk that lost writes it
// had confirmed) holds fewer entries than it acknowledged to the leader. Its acknowledgements
// were counted toward commits, so it must not take part with that data: it stops with a reason
// that says what happened and what to do (LostLogError). A real in-process group of three; the
// older copy is the follower's own data directory, copied while it was stopped. (The leader's
// side, no Apps bounced off such a follower, is checked in test/unit/raft/replication.test.ts.)
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LostLogError } from '../../main/raft/types.js';
import { as, TestClient } from '../helpers/grpc-client.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';
import { assertStoppedWhileOthersCommit, stoppingGroup } from './failed-peer.js';

describe('a follower whose data was put back from an older copy', () => {
  const { fatal, group: running } = stoppingGroup();

  test('stops at the leader\'s first heartbeat with LostLogError; the other two go on', async (t) => {
    const group = running();
    const leader = await group.leader();
    const follower = (leader + 1) % 3;
    const id = group.server(follower).peer.id;
    const client = new TestClient(group.addresses[leader] as string);
    try {
      await client.register('alice', 'bob');
      await group.stopPeer(follower);
      const older = join(tempDir(t, 'quorum-older-'), 'copy');
      cpSync(group.dataDir(follower), older, { recursive: true });
      await group.restartPeer(follower);
      for (let i = 0; i < 20; i++) await client.call('SendDirect', { to: 'bob', text: `message ${i}` }, as('alice'));
      const acknowledged = await waitFor(() => {
        const status = group.server(leader).peer.status();
        const match = status.progress.find((p) => p.id === id)?.match ?? 0;
        return match === status.lastIndex ? match : undefined;
      }, `${id} to acknowledge every entry`);

      await group.stopPeer(follower);
      rmSync(group.dataDir(follower), { recursive: true, force: true });
      cpSync(older, group.dataDir(follower), { recursive: true });
      const restored = await group.restartPeer(follower);
      const lastIndex = restored.peer.status().lastIndex;
      assert.ok(lastIndex < acknowledged, `the older copy ends at ${lastIndex}, before ${acknowledged}`);

      const err = await waitFor(() => fatal.get(id), `${id} to stop`);
      assert.ok(err instanceof LostLogError, err.stack);
      assert.equal(err.lastIndex, lastIndex);
      assert.ok(err.heldByLeader > lastIndex && err.heldByLeader <= acknowledged);
      assert.match(err.message, /entries it had confirmed are gone .* remove it from the group, then delete its data and join again/);
      assert.deepEqual([...fatal.keys()], [id], 'only the restored peer stops');
      await assertStoppedWhileOthersCommit(group, follower, client);
    } finally {
      client.close();
    }
  });
});
