// `quorum-chat peer --ui-port 0` as a person runs it: a fresh data directory starts in setup
// mode, prints the UI's URL, and the UI founds a group over the bridge.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { HostState } from '../../common/bridge.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';
import { BridgeClient } from './bridge-client.js';

const bin = fileURLToPath(new URL('../../bin/quorum-chat.js', import.meta.url));

test('a headless peer in setup mode serves its UI and founds a group when the UI asks', async (t) => {
  const dir = tempDir(t, 'quorum-ui-peer-');
  const uiDir = join(dir, 'ui');
  mkdirSync(uiDir);
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>Quorum Chat</title>');
  const child = spawn(process.execPath, [bin, 'peer', '--data', join(dir, 'data'), '--ui-port', '0', '--ui-dir', uiDir, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, QUORUM_CHAT_LOG: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));

  const url = await waitFor(() => lines.find((l) => l.startsWith('UI: '))?.slice(4), 'the UI line', { timeoutMs: 20_000 });
  const match = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=([A-Za-z0-9_-]{32})$/.exec(url);
  assert.ok(match !== null, url);
  const [, port, token] = match as unknown as [string, string, string];
  const ui = await BridgeClient.connect(Number(port), { token });
  assert.ok(ui instanceof BridgeClient);
  t.after(() => ui.close());

  assert.deepEqual(await ui.ok('hostState'), { state: 'setup' });
  const member = await ui.ok<HostState>('createGroup', 'Office');
  assert.equal(member.state, 'member');
  await waitFor(() => ui.pushes.some((p) => p.type === 'host' && p.state.state === 'member'), 'the pushed host state');
  assert.match(await ui.ok<string>('inviteCode'), /^qc1-/);
  await waitFor(() => lines.some((l) => l.startsWith('listening on 127.0.0.1:')), 'the peer to print where it listens');
  await waitFor(async () => (await ui.ok<{ leader: string | null }>('status')).leader !== null, 'a leader');
  assert.deepEqual((await ui.ok<{ account: { username: string } }>('register', 'ann', 'correct horse')).account.username, 'ann');

  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'a clean stop');
});
