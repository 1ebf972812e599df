import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readPeerConfig, writePeerConfig } from '../../../main/peer/config.js';
import { readGroupConfig, writeGroupConfig } from '../../../main/peer/group-files.js';
import { readMemberBook, writeMemberBook } from '../../../main/peer/member-book.js';
import { createGroupSecret } from '../../../main/security/group-secret.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** Each JSON file of the data directory: its name, its reader, and how a damaged one is refused. */
const files = [
  { name: 'peer.json', read: readPeerConfig, refusal: /peer\.json is not a peer configuration: .+; fix or remove it$/ },
  { name: 'group.json', read: readGroupConfig, refusal: /group\.json is not a group file: .+$/ },
  { name: 'members.json', read: readMemberBook, refusal: /members\.json is damaged: .+; remove it \(members are found again\)$/ },
];

describe('the data directory\'s JSON files', () => {
  test('what is written is read back', (t) => {
    const dir = tempDir(t);
    const config = { version: 1 as const, id: 'n1', listen: '127.0.0.1:7400', peers: { n1: '127.0.0.1:7400' } };
    writePeerConfig(dir, config);
    assert.deepEqual(readPeerConfig(dir), config);
    const group = writeGroupConfig(dir, createGroupSecret(), 'home');
    assert.deepEqual(readGroupConfig(dir), group);
    const book = { pins: { n2: 'ab12' }, addresses: { n2: '10.0.0.2:7400' } };
    writeMemberBook(dir, book);
    assert.deepEqual(readMemberBook(dir), book);
  });

  for (const { name, read, refusal } of files) {
    for (const [what, text] of [['empty', ''], ['not JSON', '{"pins":'], ['of another shape', '{"version":[]}']] as const) {
      test(`${name} ${what} is refused with a clear error and left as it is`, (t) => {
        const dir = tempDir(t);
        writeFileSync(join(dir, name), text);
        assert.throws(() => read(dir), refusal);
        assert.equal(readFileSync(join(dir, name), 'utf8'), text);
      });
    }
  }
});
