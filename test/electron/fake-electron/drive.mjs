// What the fake-Electron scenarios share: importing the bundled shell (argv[2]) and making the
// app ready, waiting on a condition, and calling the bridge as the window's top frame would.
import { pathToFileURL } from 'node:url';
import { app } from 'electron';

export const fake = globalThis.__fakeElectron;
export const step = (name) => process.stdout.write(`step: ${name}\n`);

/** Resolves once `condition()` holds, checking every 10 ms; throws naming `what` after `ms`. */
export async function until(condition, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs dist/app/main.js (argv[2]) up to its first window's loaded page; returns that window. */
export async function startShell() {
  await import(pathToFileURL(process.argv[2]).href);
  fake.makeReady();
  await app.whenReady();
  await until(() => fake.windows[0]?.webContents.loaded.length > 0, 'the window has loaded its page');
  return fake.windows[0];
}

export const ourFrame = { url: 'app://quorum-chat/index.html', parent: null };

/** bridge(method, ...args): one call over the IPC channel from our top frame; a refusal throws with its code. */
export function bridgeOf(contents) {
  const call = fake.ipcHandlers.get('quorum-chat:call');
  if (call === undefined) throw new Error('the shell registered no IPC handler');
  let nextId = 1;
  return async (method, ...args) => {
    const id = nextId++;
    const reply = await call({ sender: contents, senderFrame: ourFrame }, { id, method, args });
    if (reply.type !== 'reply' || reply.id !== id) throw new Error(`${method}: not the reply to call ${id}: ${JSON.stringify(reply)}`);
    if (!reply.ok) throw Object.assign(new Error(`${method}: ${reply.error.code}: ${reply.error.message}`), { code: reply.error.code });
    return reply.result;
  };
}
