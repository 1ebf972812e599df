// Test hosts in Linux network namespaces joined by a bridge: a LAN of our own, in a private
// subnet that exists only inside the namespaces this run made (the bridge has no address in
// the root namespace, so nothing of the test is routed anywhere else).
//
// Teardown always runs: from the test's after hook, and, should the process end first, on
// 'exit' and on SIGINT/SIGTERM/SIGHUP. A run killed outright (SIGKILL) is cleaned up by the
// next run (removeStale).
import { spawnSync } from 'node:child_process';
import { disableIPv6, ip, leftovers, names, newRunId, removeStale, tryIp } from './ip.js';

export interface Host {
  readonly index: number;
  readonly namespace: string;
  /** The host's interface, inside its namespace. */
  readonly iface: string;
  /** The other end of its veth, a port of the bridge in the root namespace (its "switch port"). */
  readonly bridgePort: string;
  address: string;
}

export interface NetworkOptions {
  hosts: number;
  /** First three octets of the /24 the hosts live in. */
  subnet?: string;
}

const defaultSubnet = '10.213.0';
const multicastRoute = '224.0.0.0/4';
const live = new Set<TestNetwork>();

export type Probe = { ok: true } | { ok: false; reason: string };
let probed: Probe | null = null;

/** Whether this process can make namespaces, a bridge and veths (root and iproute2 needed). */
export function canCreateNamespaces(): Probe {
  probed ??= probe();
  return probed;
}

function probe(): Probe {
  if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  const run = newRunId();
  try {
    ip(['netns', 'add', names.namespace(run, 'probe')]);
    ip(['link', 'add', names.bridge(run), 'type', 'bridge']);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    tryIp(['link', 'del', names.bridge(run)]);
    tryIp(['netns', 'del', names.namespace(run, 'probe')]);
  }
}

export class TestNetwork {
  readonly run = newRunId();
  readonly bridge = names.bridge(this.run);
  readonly hosts: Host[] = [];
  private readonly subnet: string;
  private destroyed = false;

  private constructor(options: NetworkOptions) {
    this.subnet = options.subnet ?? defaultSubnet;
  }

  /** Makes the bridge and `hosts` namespaces on it, at SUBNET.11, .12, ... */
  static create(options: NetworkOptions): TestNetwork {
    installExitHooks();
    removeStale();
    const net = new TestNetwork(options);
    live.add(net);
    try {
      net.makeBridge();
      for (let i = 1; i <= options.hosts; i++) net.addHost(i);
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  /** An address in the test subnet: SUBNET.(offset + index); hosts start at offset 10. */
  addressFor(index: number, offset = 10): string {
    return `${this.subnet}.${offset + index}`;
  }

  /** The argv that runs `command` inside the host's namespace (for spawn). */
  argv(host: Host, command: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', host.namespace, command, ...args]];
  }

  /** Runs a command inside the host's namespace and returns its output; throws if it fails. */
  exec(host: Host, command: string, args: readonly string[]): string {
    const [cmd, argv] = this.argv(host, command, args);
    const result = spawnSync(cmd, argv, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} in ${host.namespace}: ${result.stderr.trim() || result.error?.message}`);
    return result.stdout;
  }

  /** Pulls the host's cable: its bridge port goes down, so its interface loses carrier. */
  cutLink(host: Host): void {
    ip(['link', 'set', host.bridgePort, 'down']);
  }

  restoreLink(host: Host): void {
    ip(['link', 'set', host.bridgePort, 'up']);
  }

  /** Gives the host a new address (as a new DHCP lease would), keeping its multicast route. */
  moveAddress(host: Host, address: string): void {
    ip(['-n', host.namespace, 'addr', 'flush', 'dev', host.iface]);
    ip(['-n', host.namespace, 'addr', 'add', `${address}/24`, 'dev', host.iface]);
    // Removing a device's last address flushes its routes: the multicast route goes with it.
    ip(['-n', host.namespace, 'route', 'replace', multicastRoute, 'dev', host.iface]);
    host.address = address;
  }

  /**
   * Removes every process, veth, bridge and namespace this network made; idempotent, and
   * synchronous so that it can run from an 'exit' handler. Returns what could not be removed.
   */
  destroy(): string[] {
    if (this.destroyed) return leftovers(this.run);
    this.destroyed = true;
    live.delete(this);
    for (const host of this.hosts) killProcessesIn(host.namespace);
    for (const host of this.hosts) tryIp(['link', 'del', host.bridgePort]); // takes the veth's other end along
    tryIp(['link', 'del', this.bridge]);
    for (const host of this.hosts) tryIp(['netns', 'del', host.namespace]);
    return leftovers(this.run);
  }

  private makeBridge(): void {
    ip(['link', 'add', this.bridge, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0']);
    disableIPv6(this.bridge);
    ip(['link', 'set', this.bridge, 'up']);
  }

  private addHost(index: number): void {
    const host: Host = {
      index, namespace: names.namespace(this.run, index), iface: names.hostIface(this.run, index),
      bridgePort: names.bridgePort(this.run, index), address: this.addressFor(index),
    };
    this.hosts.push(host); // before anything can fail, so that destroy() removes it
    ip(['netns', 'add', host.namespace]);
    ip(['link', 'add', host.bridgePort, 'type', 'veth', 'peer', 'name', host.iface, 'netns', host.namespace]);
    disableIPv6(host.bridgePort);
    ip(['link', 'set', host.bridgePort, 'master', this.bridge, 'up']);
    const inNs = ['-n', host.namespace];
    ip([...inNs, 'link', 'set', 'lo', 'up']);
    ip([...inNs, 'addr', 'add', `${host.address}/24`, 'dev', host.iface]);
    ip([...inNs, 'link', 'set', host.iface, 'up']);
    // Without a route for multicast, sending to 224.0.0.251 fails: the namespace has no default route.
    ip([...inNs, 'route', 'add', multicastRoute, 'dev', host.iface]);
  }
}

/** Kills what still runs inside a namespace of ours (children the test did not stop). */
function killProcessesIn(namespace: string): void {
  const result = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' });
  for (const pid of result.stdout?.split('\n').map(Number).filter((p) => p > 0) ?? []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

let hooksInstalled = false;

function destroyAll(): void {
  for (const net of [...live]) net.destroy();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', destroyAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      destroyAll();
      process.kill(process.pid, signal); // our listener is gone: the default action ends the process
    });
  }
}
