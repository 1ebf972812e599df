// Automatic membership, after Consul's autopilot. Run on the leader: it looks at every member's
// health and proposes at most one single-server change at a time:
//   - promote a learner that has been healthy for the stabilization time, while the group has
//     fewer voters than its target (default 5); beyond that, learners stay full replicas;
//   - replace a voter unreachable for longer than the dead threshold (default 10 minutes) by a
//     healthy learner: promote the learner first, then remove the dead voter;
//   - never take the group below the minimum number of voters (3) by an automatic change.
// Pure: time and health come in as arguments, so every rule is tested with plain tables.

export interface AutopilotConfig {
  readonly targetVoters: number;
  readonly minVoters: number;
  /** A learner must have been healthy this long before it is promoted. */
  readonly stabilizationMs: number;
  /** A voter unreachable this long is replaced (if a healthy learner can take its place). */
  readonly deadAfterMs: number;
  /** A member more than this many entries behind the leader is not healthy. */
  readonly maxLagEntries: number;
}

export const defaultAutopilot: AutopilotConfig = {
  targetVoters: 5,
  minVoters: 3,
  stabilizationMs: 10_000,
  deadAfterMs: 10 * 60_000,
  maxLagEntries: 1_000,
};

export interface MemberHealth {
  readonly id: string;
  readonly voter: boolean;
  /** Last time the leader heard from it (ms); the leader itself: now. */
  readonly lastContact: number;
  readonly match: number;
}

export interface AutopilotInput {
  readonly now: number;
  readonly leader: string;
  readonly lastIndex: number;
  readonly members: readonly MemberHealth[];
  /** When each member became healthy (kept by the caller across rounds). */
  readonly healthySince: ReadonlyMap<string, number>;
}

export type Decision =
  | { readonly action: 'promote'; readonly node: string; readonly reason: string }
  | { readonly action: 'remove'; readonly node: string; readonly reason: string }
  | { readonly action: 'none'; readonly reason: string };

/** Contact more recent than this counts as reachable for health (heartbeats are far more often). */
const reachableWithinMs = 5_000;

export function isHealthy(m: MemberHealth, input: Pick<AutopilotInput, 'now' | 'lastIndex'>, config: AutopilotConfig): boolean {
  return input.now - m.lastContact <= reachableWithinMs && input.lastIndex - m.match <= config.maxLagEntries;
}

/** Updates the "healthy since" clock of every member for this round. */
export function trackHealth(previous: ReadonlyMap<string, number>, members: readonly MemberHealth[], now: number, lastIndex: number, config: AutopilotConfig): Map<string, number> {
  const next = new Map<string, number>();
  for (const m of members) {
    if (isHealthy(m, { now, lastIndex }, config)) next.set(m.id, previous.get(m.id) ?? now);
  }
  return next;
}

export function decide(input: AutopilotInput, config: AutopilotConfig = defaultAutopilot): Decision {
  const voters = input.members.filter((m) => m.voter);
  const deadVoter = voters.find((m) => m.id !== input.leader && input.now - m.lastContact > config.deadAfterMs);
  const learner = stableLearners(input, config)[0];
  if (deadVoter !== undefined) {
    const down = `voter ${deadVoter.id} unreachable for ${duration(input.now - deadVoter.lastContact)}`;
    // Promote the replacement first, so that fault tolerance never dips during the swap.
    if (learner !== undefined && voters.length <= config.targetVoters) {
      return { action: 'promote', node: learner.id, reason: `${down}: ${learner.id} replaces it` };
    }
    if (voters.length - 1 >= config.minVoters) return { action: 'remove', node: deadVoter.id, reason: down };
    return { action: 'none', reason: `${down}, but removing it would leave fewer than ${config.minVoters} voters` };
  }
  if (learner !== undefined && voters.length < config.targetVoters) {
    return { action: 'promote', node: learner.id, reason: `${voters.length} voters, target ${config.targetVoters}` };
  }
  return { action: 'none', reason: 'membership is as it should be' };
}

/** Learners healthy for at least the stabilization time, longest-stable first. */
function stableLearners(input: AutopilotInput, config: AutopilotConfig): MemberHealth[] {
  return input.members
    .filter((m) => !m.voter && isHealthy(m, input, config))
    .filter((m) => input.now - (input.healthySince.get(m.id) ?? input.now) >= config.stabilizationMs)
    .sort((a, b) => (input.healthySince.get(a.id) ?? 0) - (input.healthySince.get(b.id) ?? 0) || a.id.localeCompare(b.id));
}

function duration(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
