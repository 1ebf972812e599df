// The `ip` commands the namespace harness runs, and the names it gives what it creates.
// Every name carries a run id (the creating pid in base 36 + 3 random characters), so runs in
// parallel never collide, and what a dead run left behind can be recognised and removed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';

/** Runs `ip ARGS`; throws with its error output when it fails. */
export function ip(args: readonly string[]): string {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`ip ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.status}`}`);
  return result.stdout;
}

/** Runs `ip ARGS` for a teardown step: a failure is returned, not thrown, so later steps still run. */
export function tryIp(args: readonly string[]): string | null {
  try {
    ip(args);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function newRunId(pid = process.pid): string {
  const random = [...randomBytes(3)].map((b) => (b % 36).toString(36)).join('');
  return `${pid.toString(36).padStart(5, '0')}${random}`;
}

// Interface names are at most 15 characters: "qc" + role + 8-character run id + host number.
export const names = {
  bridge: (run: string) => `qcb${run}`,
  bridgePort: (run: string, host: number) => `qch${run}${host}`,
  hostIface: (run: string, host: number) => `qcn${run}${host}`,
  namespace: (run: string, host: number | 'probe') => `qctest-${run}-${host}`,
};

const ownLink = /^qc[bhn]([0-9a-z]{5})[0-9a-z]{3}\d*$/;
const ownNamespace = /^qctest-([0-9a-z]{5})[0-9a-z]{3}-(\d+|probe)$/;

export function namespaceNames(): string[] {
  return ip(['netns', 'list']).split('\n').map((line) => line.split(' ')[0] ?? '').filter((n) => n !== '');
}

/** Names of the links in this (the root) namespace. */
export function linkNames(): string[] {
  return ip(['-o', 'link', 'show']).split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '').filter((n) => n !== '');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a harness name belongs to a run whose process is gone. */
function isStale(name: string, pattern: RegExp): boolean {
  const pid = pattern.exec(name)?.[1];
  return pid !== undefined && !pidAlive(parseInt(pid, 36));
}

/**
 * Removes namespaces, bridges and veths that a run killed before its teardown (SIGKILL) left
 * behind. Only names of the harness's own shape whose creating pid is dead are touched.
 */
export function removeStale(): void {
  for (const link of linkNames().filter((n) => isStale(n, ownLink))) tryIp(['link', 'del', link]);
  for (const ns of namespaceNames().filter((n) => isStale(n, ownNamespace))) tryIp(['netns', 'del', ns]);
}

/** What of run `run` still exists: namespaces and root-namespace links. */
export function leftovers(run: string): string[] {
  return [...namespaceNames(), ...linkNames()].filter((n) => n.includes(run));
}

/**
 * Turns IPv6 off on a root-namespace link, so the root namespace gets no address on the test
 * bridge and no traffic of the test can reach it.
 */
export function disableIPv6(link: string): void {
  const path = `/proc/sys/net/ipv6/conf/${link}/disable_ipv6`;
  if (existsSync(path)) writeFileSync(path, '1');
}
