import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readMemberBook, writeMemberBook } from '../../../main/peer/member-book.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe('members.json', () => {
  test('what is written is read back; a missing file is an empty book', (t) => {
    const dir = tempDir(t);
    assert.deepEqual(readMemberBook(dir), { pins: {}, addresses: {} });
    const book = { pins: { n2: 'ab12' }, addresses: { n2: '10.0.0.2:7400' } };
    writeMemberBook(dir, book);
    assert.deepEqual(readMemberBook(dir), book);
  });

  for (const [what, text] of [['empty', ''], ['not JSON', '{"pins":'], ['of another shape', '{"pins":[]}']] as const) {
    test(`a file ${what} is refused with a clear error and left as it is`, (t) => {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'members.json'), text);
      assert.throws(() => readMemberBook(dir), /members\.json is damaged: .+; remove it \(members are found again\)/);
      assert.equal(readFileSync(join(dir, 'members.json'), 'utf8'), text);
    });
  }
});
