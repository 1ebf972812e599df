// Runs the bundled shell (argv[2]) on the fake Electron with its userData on a disk of fixed
// capacity (test/electron/app-bundle.test.ts mounts it), in one of two phases:
//   fill FILLER: once a group runs, fill the disk (FILLER: the file to fill it with) and send
//     until a message meets the full disk. The peer stops, and the shell must show one dialog
//     saying why and exit with 1, not die of an uncaught error. Prints how many messages the
//     full disk confirmed.
//   restart CONFIRMED: the disk has room again; the shell starts on the same data, and every
//     message confirmed in the fill phase (CONFIRMED in all) is there, once.
// Prints "scenario ok" at the end; any failed check throws (exit 1).
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { bridgeOf, fake, startShell, step, until } from './drive.mjs';

/** Appends to `path` until not one byte more fits (the disk's writes are all or nothing). */
function fillDisk(path) {
  const fd = openSync(path, 'a');
  try {
    for (let chunk = 1 << 20; chunk >= 1; chunk >>= 2) {
      const bytes = Buffer.alloc(chunk, 0x61);
      for (;;) {
        try {
          writeSync(fd, bytes);
        } catch (err) {
          if (err.code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

const [mode, arg] = process.argv.slice(3);
const long = 'x'.repeat(8_000);
const window = await startShell();
const bridge = bridgeOf(window.webContents);

/** The texts of alice's conversation with bob, every page. */
async function conversation() {
  const texts = [];
  let cursor;
  do {
    const page = await bridge('history', 'bob', { limit: 500, ...(cursor === undefined ? {} : { cursor }) });
    texts.push(...page.items.map((m) => m.text));
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return texts;
}

if (mode === 'fill') {
  step('a group with two accounts, and a message that fits');
  assert.equal((await bridge('createGroup', 'Full disk')).state, 'member');
  await bridge('register', 'alice', 'correct horse battery');
  await bridge('register', 'bob', 'correct horse battery');
  await bridge('login', 'alice', 'correct horse battery');
  assert.ok(await bridge('sendDirect', 'bob', 'before the disk filled up'));
  let confirmed = 1;
  for (; confirmed <= 20; confirmed++) assert.ok(await bridge('sendDirect', 'bob', long));
  assert.deepEqual(fake.errors, []);

  step('the disk fills up; messages go on until one meets it');
  fillDisk(arg);
  let refused = null;
  // SQLite reuses its files' free pages first, so a few more writes may still fit.
  while (confirmed < 2_000 && refused === null) {
    await bridge('sendDirect', 'bob', long).then(() => { confirmed++; }, (err) => { refused = err; });
  }
  await until(() => fake.exitCode !== null, `the shell exits (the last send: ${refused?.message ?? 'confirmed'})`, 30_000);

  step('one dialog says the storage failed and where the data is; exit code 1');
  assert.equal(fake.exitCode, 1);
  assert.equal(fake.errors.length, 1, fake.errors.join('\n'));
  assert.match(fake.errors[0], /^Quorum Chat stopped: Its storage failed: .*(disk is full|ENOSPC|no space)/i);
  assert.match(fake.errors[0], /Data folder: .*peer/);
  console.log(`confirmed: ${confirmed}`);
} else if (mode === 'restart') {
  step('restarted with room on the disk: every confirmed message is there, once');
  const confirmed = Number(arg);
  assert.equal((await bridge('hostState')).state, 'member');
  await bridge('login', 'alice', 'correct horse battery');
  const count = (texts, text) => texts.filter((t) => t === text).length;
  const texts = await conversation();
  assert.equal(count(texts, 'before the disk filled up'), 1);
  // The message that met the full disk was never confirmed: it may be in the log or not.
  const longOnes = count(texts, long);
  assert.ok(longOnes === confirmed - 1 || longOnes === confirmed, `${longOnes} long messages, ${confirmed - 1} confirmed`);
  assert.equal(texts.length, longOnes + 1);
  assert.ok(await bridge('sendDirect', 'bob', 'after the restart'));
  assert.equal(count(await conversation(), 'after the restart'), 1);
  assert.deepEqual(fake.errors, []);
} else {
  throw new Error(`usage: full-disk.mjs MAIN_JS fill FILLER | restart CONFIRMED (not ${mode})`);
}
console.log('scenario ok');
setTimeout(() => process.exit(0), 100).unref();
