// `quorum-chat peer --ui-port PORT`: the peer runs inside an AppHost and serves the UI and its
// bridge on 127.0.0.1 (main/bridge/ws-server.ts), for a browser instead of the desktop app. A
// fresh data directory without --create-group, --join-code or --peers waits in setup mode:
// the UI's first-run screen founds or joins a group.
import { fileURLToPath } from 'node:url';
import { startUiServer } from '../bridge/ws-server.js';
import { AppHost } from '../host/app-host.js';
import type { StartedPeer } from '../host/peer-setup.js';
import { createLogger, type Logger } from '../log/logger.js';
import { readPeerConfig } from '../peer/config.js';
import { isGroupStart } from './group-peer.js';
import { exitOnFatal } from './output.js';
import { resolvePeerConfig, type PeerFlags } from './peer-command.js';
import { stopOnSignal } from './signals.js';

/** The built UI, next to main/ in the repository (overridable with --ui-dir). */
export const defaultUiDir = fileURLToPath(new URL('../../renderer/dist', import.meta.url));

export interface UiFlags {
  readonly uiPort: number;
  readonly uiDir?: string;
}

export async function runUiPeer(flags: PeerFlags & UiFlags): Promise<void> {
  const setupOnly = readPeerConfig(flags.data) === null && !isGroupStart(flags) && flags.peers === undefined;
  const config = setupOnly ? null : resolvePeerConfig(flags);
  const log = createLogger(config === null ? 'peer (setup)' : `peer ${config.id}`);
  const host = await AppHost.start({
    dataDir: flags.data, logger: log, id: flags.id, listen: flags.listen, clientListen: flags.clientListen, joinAddress: flags.join,
    snapshotEvery: flags.snapshotEvery, retainedEntries: flags.retainLog, replayEntryBytes: flags.replayEntryBytes,
    autopilot: { stabilizationMs: flags.autopilotStabilizationMs, deadAfterMs: flags.autopilotDeadMs },
    discovery: flags.mdnsRequeryMs === undefined ? undefined : { requeryMs: flags.mdnsRequeryMs },
    onFatal: exitOnFatal(log),
  });
  let ui: Awaited<ReturnType<typeof startUiServer>>;
  try {
    ui = await startUiServer({ host, port: flags.uiPort, staticDir: flags.uiDir ?? defaultUiDir, logger: log });
  } catch (err) {
    await host.stop();
    throw err;
  }
  // First, so that whoever waits for "listening on" (quorum-chat cluster) has read it already.
  process.stdout.write(`UI: ${ui.url}\n`);
  log.info({ port: ui.port }, 'serving the UI on 127.0.0.1');
  announce(host, log);
  await stopOnSignal(async () => {
    log.info('stopping (handing leadership over first if leading)');
    await ui.close();
    await host.stop();
  });
  log.flush();
}

/** Prints where the peer listens once it runs (now, or when the UI has set it up). */
function announce(host: AppHost, log: Logger): void {
  const printed = new Set<StartedPeer>();
  const print = () => {
    const running = host.peer;
    if (running === null || printed.has(running)) return;
    printed.add(running);
    for (const address of running.addresses) process.stdout.write(`listening on ${address}\n`);
    if (running.server.peer.clientPort !== 0) process.stdout.write(`clients on 127.0.0.1:${running.server.peer.clientPort}\n`);
    // Removed from the group: stop the way a signal does, a moment later so the reply gets out.
    running.server.peer.once('removed', () => setTimeout(() => process.kill(process.pid, 'SIGTERM'), 500));
    log.info({ addresses: running.addresses }, 'peer started');
  };
  print();
  host.on('state', print);
}
