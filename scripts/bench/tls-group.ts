// A LAN group (mutual TLS between peers, certificates from the group secret) of real
// `quorum-chat peer` processes on loopback, made the way people make one: the first peer runs
// `--create-group`, the others `--join-code CODE --join ADDRESS` (by address: no multicast
// needed), autopilot promotes them to voters. Peer traffic goes over TLS on --listen; clients
// (the benchmark's senders, like the CLI and the app) use the plaintext loopback --client-listen.
// The processes are a LocalGroup (main/cli/local-group.ts) with other first-start flags.
import { LocalGroup } from '../../main/cli/local-group.js';

export interface TlsMember {
  readonly id: string;
  /** TLS address for peers (what a joiner dials: 127.0.0.1:port). */
  readonly address: string;
  /** What it binds (the bench: every interface, as people run it; a test: 127.0.0.1, no mDNS on the LAN). */
  readonly listen: string;
  /** Plaintext loopback address for clients. */
  readonly clientAddress: string;
  readonly dataDir: string;
}

export interface TlsGroupOptions {
  /** Each peer's standard error goes to `<logDir>/<id>.log`. */
  readonly logDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
  /** Passed to every peer as --retain-log (0: a follower behind the snapshot always gets a copy of chat.db). */
  readonly retainLog?: number;
}

export class TlsGroup extends LocalGroup {
  private inviteCode: string | null = null;

  constructor(readonly tlsMembers: readonly TlsMember[], options: TlsGroupOptions) {
    const founder = tlsMembers[0] as TlsMember;
    super(tlsMembers, {
      ...options,
      onLine: (_id, line) => {
        const code = /^invite code: (\S+)$/.exec(line)?.[1];
        if (code !== undefined) this.inviteCode = code;
      },
      firstStartArgs: (m) => {
        const tls = tlsMembers.find((x) => x.id === m.id) as TlsMember;
        const args = ['--id', m.id, '--listen', tls.listen, '--client-listen', tls.clientAddress];
        if (m.id === founder.id) return [...args, '--create-group', 'bench'];
        if (this.inviteCode === null) throw new Error('found the group first');
        return [...args, '--join-code', this.inviteCode, '--join', founder.address];
      },
    });
  }

  override member(id: string): TlsMember {
    const m = this.tlsMembers.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  /** Founds the group on the first member, then has every other one join it by address. */
  async found(): Promise<void> {
    const [founder, ...joiners] = this.tlsMembers as [TlsMember, ...TlsMember[]];
    await this.start(founder.id);
    await Promise.all(joiners.map((m) => this.start(m.id)));
  }
}
