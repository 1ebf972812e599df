// A disk that refuses the log: the peer must stop at once, loudly, without acknowledging the
// entries it could not make durable, and the group goes on without it. Two ways a disk refuses:
// the sync fails (EIO from fdatasync, reported by the promise Storage.write returns), or the
// write itself fails at once (SQLITE_FULL: the disk is full). Both are injected by wrapping
// Storage.write for one node (no faulty disk is available here); everything else is a real
// in-process group of three. (test/cluster fills a real, if simulated, disk.)
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { MessageType, type Entry, type HardState, type Message } from '../../main/raft/types.js';
import { StorageError } from '../../main/storage/errors.js';
import { Storage } from '../../main/storage/storage.js';
import { Transport } from '../../main/transport/transport.js';
import { as, TestClient } from '../helpers/grpc-client.js';
import { replaceMethod } from '../helpers/replace-method.js';
import { waitFor } from '../helpers/wait.js';
import { assertStoppedWhileOthersCommit, stoppingGroup } from './failed-peer.js';

type Failure = 'sync' | 'write';

const failures: Record<Failure, { what: string; error: () => Error; message: RegExp }> = {
  sync: {
    what: 'a failed log sync (EIO)',
    error: () => new StorageError('io', 'could not sync the raft log to disk: EIO: i/o error, fdatasync (injected)'),
    message: /could not sync the raft log to disk: EIO/,
  },
  write: {
    what: 'a log write refused at once (disk full)',
    error: () => Object.assign(new Error('database or disk is full (injected)'), { code: 'SQLITE_FULL' }),
    message: /database or disk is full/,
  },
};

for (const [failure, { what, error, message }] of Object.entries(failures) as [Failure, (typeof failures)[Failure]][]) {
  describe(what, () => {
    /** The node whose next writes fail, and the first entry of the first write that failed. */
    let failing = '';
    let firstUnsynced = Infinity;
    /** What the failing node acknowledged to the leader (AppResp indexes), in order. */
    const acknowledged: number[] = [];

    function inject(): () => void {
      const restoreWrite = replaceMethod(Storage.prototype, 'write', (write) => function (this: Storage, hardState: HardState | null, entries: readonly Entry[]) {
        if (basename(this.dir) !== failing) return write.call(this, hardState, entries);
        if (failure === 'write' && entries.length > 0) {
          firstUnsynced = Math.min(firstUnsynced, entries[0]?.index ?? Infinity);
          throw error();
        }
        const durable = write.call(this, hardState, entries);
        if (durable === null || failure === 'write') return durable;
        void durable.catch(() => undefined); // the real sync; its outcome no longer matters
        firstUnsynced = Math.min(firstUnsynced, entries[0]?.index ?? Infinity);
        return Promise.reject(error());
      });
      const restoreSend = replaceMethod(Transport.prototype, 'send', (send) => function (this: Transport, messages: readonly Message[]) {
        for (const m of messages) if (m.from === failing && m.type === MessageType.AppResp && !m.reject) acknowledged.push(m.index);
        send.call(this, messages);
      });
      return () => {
        restoreWrite();
        restoreSend();
      };
    }

    const { fatal, group: running } = stoppingGroup(inject);

    test('stops the peer before it acknowledges anything; the others go on', async () => {
      const group = running();
      const leader = await group.leader();
      const follower = (leader + 1) % 3;
      const client = new TestClient(group.addresses[leader] as string);
      try {
        await client.register('alice', 'bob');
        failing = group.server(follower).peer.id;
        for (let i = 0; i < 10; i++) await client.call('SendDirect', { to: 'bob', text: `message ${i}` }, as('alice'));
        const err = await waitFor(() => fatal.get(failing), `${failing} to stop on ${what}`);
        assert.match(err.message, message);
        assert.equal(fatal.size, 1, 'only the node whose disk failed');
        assert.ok(firstUnsynced < Infinity, 'a write of entries failed');
        assert.deepEqual(acknowledged.filter((index) => index >= firstUnsynced), [], 'nothing it could not make durable was acknowledged');
        await assertStoppedWhileOthersCommit(group, follower, client);
      } finally {
        client.close();
      }
    });
  });
}
