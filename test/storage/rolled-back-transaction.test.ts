// SQLite rolls the whole open transaction back by itself on some errors (SQLITE_FULL, I/O
// errors), not only the batch that failed. The peer applies many batches in one open chat.db
// transaction (Storage.applyInOpenTransaction), so such a rollback takes earlier batches with it,
// while the state machine's position in memory still counts them: applying on would leave a gap
// for good. Here a full disk is PRAGMA max_page_count (SQLite answers SQLITE_FULL the same way).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCommand } from '../../main/chat/commands.js';
import { ChatMachine } from '../../main/chat/machine.js';
import { EntryType, type Entry } from '../../main/raft/types.js';
import { ChatReplica } from '../helpers/chat-replica.js';
import { openStorage } from '../helpers/storage.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('an open apply transaction SQLite rolls back', () => {
  test('stops all applying and committing until a restart, which applies the lost batches again, once', async (t) => {
    const dir = tempDir(t, 'quorum-data-');
    const storage = openStorage(dir);
    storage.bootstrap({ nodeId: 'n1', founders: { voters: ['n1'], learners: [] } });
    const replica = new ChatReplica(storage.stateDb, 'client');
    const commands = [
      await replica.prepare({ t: 'createAccount', username: 'alice', password: 'alice-password' }),
      await replica.prepare({ t: 'createAccount', username: 'bob', password: 'bob-password' }),
    ];
    for (let i = 1; i <= 40; i++) commands.push(await replica.prepare({ t: 'sendDirect', actor: 1, to: 2, text: `${i} ${'x'.repeat(3_000)}` }));
    const log: Entry[] = commands.map((c, i) => ({ index: i + 1, term: 1, type: EntryType.Normal, data: encodeCommand(c) }));
    storage.save({ term: 1, vote: null, commit: log.length }, log); // the log holds them all, durably
    const apply = (from: number, to: number) => storage.applyInOpenTransaction(() => replica.machine.applyBatch(log.slice(from, to)));

    apply(0, 2);
    storage.commitState(); // the accounts, committed
    apply(2, 12); // ten messages in the open transaction
    storage.stateDb.pragma(`max_page_count = ${storage.stateDb.pragma('page_count', { simple: true }) as number}`); // the disk is full
    assert.throws(() => apply(12, 42), { code: 'SQLITE_FULL' });
    assert.throws(() => apply(12, 13), { code: 'io', message: /rolled back its open transaction/ }, 'nothing more is applied');
    assert.throws(() => storage.commitState(), { code: 'io' }, 'nor committed');
    storage.close();

    const again = openStorage(dir);
    t.after(() => again.close());
    const loaded = again.load();
    assert.equal(loaded.applied, 2, 'chat.db holds what it committed: the accounts');
    const machine = new ChatMachine(again.stateDb);
    again.applyInOpenTransaction(() => machine.applyBatch(loaded.entries.filter((e) => e.index > loaded.applied)));
    again.commitState();
    const bodies = again.stateDb.prepare<[], string>('SELECT body FROM messages ORDER BY id').pluck().all();
    assert.deepEqual(bodies.map((b) => Number(b.split(' ')[0])), Array.from({ length: 40 }, (_, i) => i + 1));
  });
});
