// The chat UI end to end: five real `quorum-chat peer` processes, each serving the built UI and
// its WebSocket bridge (--ui-port), driven in Debian's Chromium by playwright-core. alice uses
// peer1's UI and bob peer4's. Every wait is on something the page shows (bounded), and the
// after hook closes the browser and SIGKILLs every peer, whatever happened.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LocalGroup, type GroupMember } from '../../main/cli/local-group.js';
import { printPeerLogs } from '../helpers/peer-logs.js';
import { freePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const chromiumPath = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../..', import.meta.url));
const uiBuilt = existsSync(join(root, 'renderer/dist/index.html'));
const screenshots = join(root, 'docs/screenshots');
const password = 'correct horse battery';
/** Generous for a loaded two-core machine; every wait returns as soon as its condition holds. */
const uiTimeout = 30_000;

const skipReason = !existsSync(chromiumPath)
  ? `${chromiumPath} is missing (apt-get install -y chromium); .ci/run installs it`
  : !uiBuilt ? 'renderer/dist is not built (npm run build:ui; npm test builds it first)' : null;
if (skipReason !== null) console.log(`# skipping the end-to-end UI tests: ${skipReason}`);

describe('the chat UI against a five-peer group', { skip: skipReason ?? false, timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'quorum-e2e-'));
  const urls = new Map<string, string>();
  let group: LocalGroup;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let failed = false;

  /** A test of this suite; a failure makes the after hook print what the peers logged. */
  const step = (name: string, fn: () => Promise<void>) => it(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  before(async () => {
    const ports = await freePorts(5);
    const members: GroupMember[] = ports.map((port, i) => ({ id: `peer${i + 1}`, address: `127.0.0.1:${port}`, dataDir: join(dir, `peer${i + 1}`) }));
    group = new LocalGroup(members, {
      logDir: dir, uiBasePort: 0,
      onLine: (id, line) => { if (line.startsWith('UI: ')) urls.set(id, line.slice(4).trim()); },
    });
    await group.startAll();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    alice = await open('peer1');
    bob = await open('peer4');
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await group?.stopAll('SIGKILL');
    if (failed) printPeerLogs(dir, ['peer1', 'peer2', 'peer3', 'peer4', 'peer5']);
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(peer: string): Promise<Page> {
    const url = urls.get(peer);
    assert.ok(url !== undefined, `${peer} printed no UI address`);
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, colorScheme: 'light' });
    const page = await context.newPage();
    page.setDefaultTimeout(uiTimeout);
    await page.goto(url);
    return page;
  }

  async function register(page: Page, username: string): Promise<void> {
    await page.getByTestId('auth-username').fill(username);
    await page.getByTestId('auth-password').fill(password);
    await page.getByTestId('auth-register').click();
    await page.getByTestId('account-menu').waitFor();
  }

  const message = (page: Page, text: string, own: boolean) =>
    page.locator(`[data-testid=message][data-own=${String(own)}]`).filter({ has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) });

  async function send(page: Page, text: string, how: 'enter' | 'button' = 'enter'): Promise<void> {
    await page.getByTestId('composer-input').fill(text);
    if (how === 'enter') await page.getByTestId('composer-input').press('Enter');
    else await page.getByTestId('composer-send').click();
  }

  async function shoot(page: Page, name: string): Promise<void> {
    mkdirSync(screenshots, { recursive: true });
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: join(screenshots, `${name}-${scheme}.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  const statusText = (page: Page) => page.getByTestId('group-status').textContent();

  /** Waits until alice's status bar gives `pick` a value; a timeout says what the bar showed instead. */
  const aliceStatus = <T>(what: string, pick: (text: string) => T | undefined | false) =>
    waitFor(async () => pick(await statusText(alice) ?? ''), what, { timeoutMs: uiTimeout, intervalMs: 100, observe: () => statusText(alice) });

  /** The peers whose UIs alice and bob use: a kill must hit neither. */
  const uiPeers = ['peer1', 'peer4'];

  /** The leader alice's status bar names (with quorum), once it names one not in `unlike`. */
  const leaderSeenByAlice = (what: string, unlike: readonly string[]) => aliceStatus(what, (text) => {
    const leader = /^Connected — leader (peer\d),/.exec(text)?.[1];
    return leader !== undefined && !unlike.includes(leader) && leader;
  });

  step('shows a clear error for a wrong password', async () => {
    await alice.getByTestId('auth-username').waitFor();
    await shoot(alice, 'sign-in');
    await register(alice, 'alice');
    await bob.getByTestId('auth-username').fill('alice');
    await bob.getByTestId('auth-password').fill('not the password');
    await bob.getByTestId('auth-login').click();
    const error = bob.getByTestId('auth-error');
    await error.waitFor();
    assert.match(await error.textContent() ?? '', /wrong password/i);
    await register(bob, 'bob');
  });

  step('alice and bob chat both ways, with unread badges and read receipts', async () => {
    await alice.getByTestId('people-search').fill('bo');
    await alice.locator('[data-testid=people-result][data-username=bob]').click();
    await send(alice, 'hello bob', 'enter');
    await send(alice, 'are you there?', 'button');
    await message(alice, 'are you there\\?', true).and(alice.locator('[data-state=sent]')).waitFor();

    const badge = bob.locator('[data-testid=conversation-item][data-peer=alice] [data-testid=unread-badge]');
    await waitFor(async () => (await badge.textContent())?.trim() === '2', 'bob sees 2 unread from alice', { timeoutMs: uiTimeout, intervalMs: 100 });
    await waitFor(async () => (await bob.title()).startsWith('(2)'), 'the unread count in bob\'s title', { timeoutMs: uiTimeout, intervalMs: 100 });
    await shoot(bob, 'unread');

    await bob.locator('[data-testid=conversation-item][data-peer=alice]').click();
    await message(bob, 'hello bob', false).waitFor();
    await message(alice, 'hello bob', true).and(alice.locator('[data-state=read]')).waitFor();
    await message(alice, 'are you there\\?', true).and(alice.locator('[data-state=read]')).waitFor();
    await send(bob, 'yes, hi alice');
    await message(alice, 'yes, hi alice', false).waitFor();
    await shoot(alice, 'conversation');
  });

  step('SIGKILL of the leader: the UI shows the new leader and the conversation goes on', async () => {
    // Make peer2 the leader through its own admin panel, so that the kill hits neither UI's peer.
    const admin = await open('peer2');
    await admin.getByTestId('auth-username').fill('alice');
    await admin.getByTestId('auth-password').fill(password);
    await admin.getByTestId('auth-login').click();
    await admin.getByTestId('admin-tab').click();
    const role = await waitFor(async () => /leader|follower|candidate/.exec(await admin.getByTestId('admin-role').textContent() ?? '')?.[0],
      'peer2\'s admin panel to show its role', { timeoutMs: uiTimeout, intervalMs: 100 });
    if (role !== 'leader') await admin.getByTestId('transfer-here').click(); // else peer2 won the first election
    await waitFor(async () => (await admin.getByTestId('admin-role').textContent())?.includes('leader'), 'peer2 leads', { timeoutMs: uiTimeout, intervalMs: 100 });
    await admin.getByTestId('members-table').waitFor();
    await shoot(admin, 'admin');
    await admin.context().close();
    // On a loaded machine an election may move leadership on again before the kill (heartbeats
    // late by an election timeout): whichever leader alice's status names, it is not a UI's peer.
    const leader = await leaderSeenByAlice('alice\'s status to name a leader other than peer1 or peer4', uiPeers);

    await group.kill(leader);
    const newLeader = await leaderSeenByAlice(`alice's status to name a leader other than ${leader}`, [leader]);
    await send(alice, 'still here after the failover');
    await message(bob, 'still here after the failover', false).waitFor();
    await send(bob, 'me too');
    await message(alice, 'me too', false).waitFor();

    await alice.getByTestId('admin-tab').click();
    await waitFor(async () => (await alice.getByTestId('admin-leader').textContent())?.includes(newLeader), 'the admin panel shows the new leader', { timeoutMs: uiTimeout, intervalMs: 100 });
    const leaderRow = alice.locator(`[data-testid=member-row][data-member-id=${leader}]`);
    await leaderRow.waitFor();
    await alice.getByTestId('chat-tab').click();
  });

  step('a message alice deletes disappears on bob\'s side', async () => {
    await message(bob, 'hello bob', false).waitFor();
    await alice.locator('[data-testid=conversation-item][data-peer=bob]').click();
    await alice.getByTestId('select-toggle').click();
    await message(alice, 'hello bob', true).getByTestId('message-select').check();
    await alice.getByTestId('delete-selected').click();
    await message(alice, 'hello bob', true).waitFor({ state: 'detached' });
    await message(bob, 'hello bob', false).waitFor({ state: 'detached' });
    assert.equal(await message(bob, 'are you there\\?', false).count(), 1, 'the message not selected stays');
  });

  step('a message typed without quorum waits in the outbox and is delivered once quorum is back', async () => {
    // Every peer but the two UIs' is down (the failover test killed one of them already).
    const outage = ['peer2', 'peer3', 'peer5'];
    await Promise.all(outage.map((id) => group.kill(id)));
    // Reachability is "heard from lately", so the count drops a moment after the kills.
    const noQuorum = 'No quorum — 2 of 5 peers reachable; your messages will be sent when the group is back';
    await aliceStatus('alice sees no quorum, 2 of 5 reachable', (text) => text === noQuorum);
    assert.equal(await alice.getByTestId('group-status').getAttribute('data-kind'), 'no-quorum');
    await send(alice, 'typed during the outage');
    const pending = message(alice, 'typed during the outage', true);
    await pending.and(alice.locator('[data-state=pending]')).waitFor();
    await shoot(alice, 'no-quorum');

    await Promise.all(outage.map((id) => group.start(id)));
    await pending.and(alice.locator('[data-state=sent], [data-state=read]')).waitFor({ timeout: 60_000 });
    await message(bob, 'typed during the outage', false).waitFor();
    // Once delivered, exactly once: the outbox's retries carried one request id.
    await aliceStatus('quorum back', (text) => text.startsWith('Connected'));
    assert.equal(await message(bob, 'typed during the outage', false).count(), 1);
    await bob.reload();
    await bob.locator('[data-testid=conversation-item][data-peer=alice]').click();
    await message(bob, 'me too', true).waitFor();
    assert.equal(await message(bob, 'typed during the outage', false).count(), 1, 'stored once (after a reload)');
  });
});
