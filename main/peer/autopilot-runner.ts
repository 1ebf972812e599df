// Runs autopilot's pure decide() on the leader every second: health comes from when the leader
// last heard from each member and from its replication progress; a decision becomes a
// membership change proposed through the log. Followers keep no health clocks: a new leader
// starts counting afresh (a voter silent since then is judged from the moment it took over).
import { decide, defaultAutopilot, trackHealth, type AutopilotConfig, type MemberHealth } from '../autopilot/autopilot.js';
import { Role } from '../raft/types.js';
import type { Peer } from './peer.js';

export interface AutopilotDecision {
  /** ms since the epoch. */
  readonly at: number;
  readonly action: 'promote' | 'remove';
  readonly node: string;
  readonly reason: string;
  /** 'done', or why the change did not go through. */
  readonly outcome: string;
}

const keepDecisions = 20;

export class AutopilotRunner {
  private healthySince = new Map<string, number>();
  /** When this peer became leader (0: not leading); silence is counted from then at most. */
  private leadingSince = 0;
  private readonly decisions: AutopilotDecision[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly peer: Peer, private readonly config: AutopilotConfig = defaultAutopilot, private readonly everyMs = 1_000) {}

  start(): void {
    this.timer ??= setInterval(() => void this.round(), this.everyMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The last decisions that changed (or tried to change) the membership, oldest first. */
  recent(): readonly AutopilotDecision[] {
    return this.decisions;
  }

  /** One round; at most one change in flight (single-server changes). */
  async round(now = Date.now()): Promise<void> {
    if (this.busy) return;
    if (this.peer.role() !== Role.Leader) {
      this.leadingSince = 0;
      this.healthySince.clear();
      return;
    }
    if (this.leadingSince === 0) this.leadingSince = now;
    const status = this.peer.status();
    const members = status.progress.map((p): MemberHealth => ({
      id: p.id, voter: p.voter, match: p.match,
      lastContact: p.id === status.id ? now : Math.max(this.peer.lastHeardFrom(p.id) ?? 0, this.leadingSince),
    }));
    this.healthySince = trackHealth(this.healthySince, members, now, status.lastIndex, this.config);
    const decision = decide({ now, leader: status.id, lastIndex: status.lastIndex, members, healthySince: this.healthySince }, this.config);
    if (decision.action === 'none') return;
    this.busy = true;
    try {
      await this.peer.changeMembership({ type: decision.action, node: decision.node });
      this.record({ ...decision, at: now, outcome: 'done' });
    } catch (err) {
      this.record({ ...decision, at: now, outcome: (err as Error).message });
    } finally {
      this.busy = false;
    }
  }

  private record(d: AutopilotDecision): void {
    this.decisions.push(d);
    if (this.decisions.length > keepDecisions) this.decisions.shift();
  }
}
