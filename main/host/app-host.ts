// The app's peer, whatever stage it is at: not in a group yet ('setup': the UI's first-run
// screen can look for groups, found one or join one), joining, or a member serving chat. The
// Electron shell and the headless `quorum-chat peer --ui-port` both run one; the bridge
// (main/bridge) serves its HostApi and a ChatApi session per window or socket.
import { EventEmitter } from 'node:events';
import { ChatApiError, type ChatApi, type Credentials } from '../../common/chat-api.js';
import type { DiscoveredGroup, HostApi, HostState } from '../../common/bridge.js';
import { groupsOf, LanDiscovery } from '../discovery/index.js';
import { parseAddress } from '../discovery/addresses.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { readPeerConfig } from '../peer/config.js';
import { readGroupConfig, unnamedGroup, type GroupConfig } from '../peer/group-files.js';
import { createGroupSecret, decodeInviteCode, encodeInviteCode, InviteCodeError } from '../security/group-secret.js';
import { removePeerFiles, SetupError, startConfiguredPeer, writeGroupFiles, type StartOptions, type StartedPeer } from './peer-setup.js';

export interface AppHostOptions extends Pick<StartOptions, 'snapshotEvery' | 'retainedEntries' | 'replayEntryBytes' | 'autopilot' | 'discovery' | 'scrypt' | 'timing' | 'onFatal'> {
  readonly dataDir: string;
  readonly logger?: Logger;
  /** Node id of a group this app founds or joins (default: `n-` + 8 random hex characters). */
  readonly id?: string;
  /** Peer address of a group this app founds or joins (default 0.0.0.0:7400). */
  readonly listen?: string;
  /** Loopback address for local tools (default 127.0.0.1:<port+1>). */
  readonly clientListen?: string;
  /** A member to join through (a restart of a peer still joining), besides mDNS. */
  readonly joinAddress?: string;
  /** How long discoverGroups() listens for announcements (default 1.5 s). */
  readonly discoverMs?: number;
}

export interface AppHostEvents {
  /** The host moved on (setup → joining → member); also pushed to every bridge session. */
  state: [HostState];
}

const maxGroupName = 64;
const notInGroup = () => new ChatApiError('unavailable', 'this app is not in a group yet: create or join one');

export class AppHost extends EventEmitter<AppHostEvents> implements HostApi {
  private running: StartedPeer | null = null;
  private current: HostState = { state: 'setup' };
  /** A create or join in progress: a second one is refused rather than raced. */
  private settingUp = false;
  private stopped = false;
  /** The app's log (the bridge logs unexpected failures here too). */
  readonly log: Logger;

  private constructor(private readonly options: AppHostOptions) {
    super();
    this.log = options.logger ?? silentLogger;
  }

  /** Starts the peer the data directory holds, or waits in 'setup' when it holds none. */
  static async start(options: AppHostOptions): Promise<AppHost> {
    const host = new AppHost(options);
    if (readPeerConfig(options.dataDir) !== null) await host.startPeer(options.joinAddress ?? null);
    return host;
  }

  /** The current state, synchronously. */
  get state(): HostState {
    return this.current;
  }

  /** The running peer (null in setup): its server and the addresses it is reached at. */
  get peer(): StartedPeer | null {
    return this.running;
  }

  async hostState(): Promise<HostState> {
    return this.current;
  }

  /** Groups announcing themselves on the LAN, as seen within ~1.5 s (by group id, never name). */
  async discoverGroups(): Promise<readonly DiscoveredGroup[]> {
    const discovery = new LanDiscovery({ requeryMs: 500, logger: this.log });
    try {
      discovery.browse();
      await new Promise((resolve) => setTimeout(resolve, this.options.discoverMs ?? 1_500));
      const peers = discovery.list();
      return groupsOf(peers).map((g) => {
        const members = peers.filter((p) => p.groupId === g.groupId);
        return {
          groupId: g.groupId, groupName: g.groupName, members: members.length,
          addresses: members.flatMap((m) => m.addresses.slice(0, 1)),
        };
      });
    } finally {
      await discovery.close();
    }
  }

  async createGroup(name: string): Promise<HostState> {
    const groupName = typeof name === 'string' ? name.trim() : '';
    if (groupName === '' || groupName.length > maxGroupName || groupName === unnamedGroup) {
      throw new ChatApiError('invalid-argument', `a group name is 1–${maxGroupName} characters`);
    }
    return this.setUp(createGroupSecret(), groupName, null);
  }

  async joinGroup(inviteCode: string, address?: string): Promise<HostState> {
    if (typeof inviteCode !== 'string') throw new ChatApiError('invalid-argument', 'the invite code must be text');
    let secret: Buffer;
    try {
      secret = decodeInviteCode(inviteCode);
    } catch (err) {
      if (err instanceof InviteCodeError) throw new ChatApiError('invalid-argument', err.message);
      throw err;
    }
    const through = address === undefined || address === '' ? null : address.trim();
    if (through !== null && parseAddress(through) === null) {
      throw new ChatApiError('invalid-argument', 'the member address must be host:port (for example 192.168.1.10:7400)');
    }
    return this.setUp(secret, null, through);
  }

  async inviteCode(): Promise<string | null> {
    if (this.current.state !== 'member' || this.current.staticGroup) return null;
    const group = readGroupConfig(this.options.dataDir);
    return group === null ? null : encodeInviteCode(Buffer.from(group.secret, 'hex'));
  }

  /** A fresh ChatApi session on the running peer (one per window or socket). */
  chatSession(credentials: Credentials | null = null): ChatApi {
    if (this.current.state !== 'member' || this.running === null) throw notInGroup();
    return this.running.server.session(credentials);
  }

  /** Stops the peer (a leader hands over first). The host is done afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = this.running;
    this.running = null;
    await running?.server.stop();
  }

  // ---- setting up -----------------------------------------------------------------------------

  /** Writes the group files and starts the peer; on failure removes them, back to setup. */
  private async setUp(secret: Buffer, groupName: string | null, joinAddress: string | null): Promise<HostState> {
    if (this.stopped) throw new ChatApiError('unavailable', 'the app is stopping');
    if (this.current.state !== 'setup' || this.settingUp) throw new ChatApiError('unavailable', 'this app is in a group already (or joining one)');
    this.settingUp = true;
    const { dataDir, id, listen, clientListen } = this.options;
    try {
      writeFiles(dataDir, () => writeGroupFiles({ dataDir, id, listen, clientListen }, secret, groupName));
      try {
        await this.startPeer(joinAddress);
      } catch (err) {
        removePeerFiles(dataDir); // what this attempt wrote: setup can be tried again
        this.log.error({ err: (err as Error).message }, 'could not start the group peer');
        throw err instanceof ChatApiError ? err : new ChatApiError('unavailable', `could not start the peer: ${(err as Error).message}`);
      }
    } finally {
      this.settingUp = false;
    }
    return this.current;
  }

  private async startPeer(joinAddress: string | null): Promise<void> {
    const { dataDir } = this.options;
    const config = readPeerConfig(dataDir);
    if (config === null) throw new Error(`${dataDir} holds no peer.json`);
    const group = readGroupConfig(dataDir);
    const running = await startConfiguredPeer({ ...this.options, config, group, joinAddress });
    if (this.stopped) {
      await running.server.stop();
      throw new ChatApiError('unavailable', 'the app is stopping');
    }
    this.running = running;
    const nodeId = config.id;
    if (group === null) return this.moveTo({ state: 'member', groupName: null, nodeId, staticGroup: true });
    if (!running.server.peer.isMember(nodeId)) this.moveTo({ state: 'joining', groupName: shownName(group), nodeId });
    running.joined.then(() => {
      if (this.running !== running) return;
      this.log.info({ nodeId }, 'member of the group');
      // The name may have been learnt from the members' announcements meanwhile.
      this.moveTo({ state: 'member', groupName: nameOf(readGroupConfig(dataDir)), nodeId, staticGroup: false });
    }, () => undefined); // rejects only when stopped before joining
    if (running.server.peer.isMember(nodeId)) this.moveTo({ state: 'member', groupName: nameOf(group), nodeId, staticGroup: false });
  }

  private moveTo(state: HostState): void {
    if (JSON.stringify(state) === JSON.stringify(this.current)) return;
    this.current = state;
    this.emit('state', state);
  }
}

/** A folder set up already is left alone; a write that failed half-way is undone. */
function writeFiles<T>(dataDir: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof SetupError) throw new ChatApiError('unavailable', 'this data folder already belongs to a group');
    removePeerFiles(dataDir);
    throw new ChatApiError('unavailable', `could not write the group's files: ${(err as Error).message}`);
  }
}

/** A joiner does not know the group's name until a member announces it. */
function nameOf(group: GroupConfig | null): string | null {
  return group === null || group.groupName === unnamedGroup ? null : group.groupName;
}

/** The joining state carries a name; empty until a member has announced it. */
function shownName(group: GroupConfig): string {
  return nameOf(group) ?? ''; // not known yet: the UI says "joining" without a name
}
