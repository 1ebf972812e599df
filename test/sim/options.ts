// Everything that shapes one simulated run. A run is a pure function of these options: the CLI
// prints the flags that replay a failing run.
import type { PlantedBugs } from '../../main/raft/types.js';

/** Bugs planted in the core (RaftConfig.bugs). */
export const coreBugNames = ['voteWithoutLogCheck', 'commitPreviousTerm', 'forgetVote', 'skipPrevLogCheck'] as const;
export type CoreBugName = (typeof coreBugNames)[number] & keyof PlantedBugs;
/**
 * Bugs planted in the driver: sendBeforeWrite sends every message of a Ready before its write
 * (votes and acknowledgements too), which main/peer/early-send.ts exists to prevent.
 */
export const driverBugNames = ['sendBeforeWrite'] as const;
export const bugNames = [...coreBugNames, ...driverBugNames] as const;
export type BugName = CoreBugName | (typeof driverBugNames)[number];

export function isCoreBug(name: BugName): name is CoreBugName {
  return (coreBugNames as readonly string[]).includes(name);
}

export interface SimOptions {
  readonly seed: number;
  /** Steps of the faulty phase; the heal phase that follows runs until the cluster is quiet. */
  readonly steps: number;
  /** Give up (a liveness violation) if the healed cluster is not quiet after this many steps. */
  readonly healSteps: number;
  readonly founders: number;
  /** Founders plus joiners: membership churn adds nodes up to this many. */
  readonly maxNodes: number;
  /** A node ticks once every this many steps; message delays are counted in steps. */
  readonly stepsPerTick: number;
  /** The state machine snapshots and compacts the log every this many applied entries. */
  readonly compactEvery: number;
  readonly bug: BugName | null;
  readonly verbose: boolean;
  readonly out: (line: string) => void;
}

export const defaultOptions: SimOptions = {
  seed: 1,
  steps: 12000,
  healSteps: 1500,
  founders: 5,
  maxNodes: 12,
  stepsPerTick: 2,
  compactEvery: 40,
  bug: null,
  verbose: false,
  out: console.log,
};

export function isBugName(name: string): name is BugName {
  return (bugNames as readonly string[]).includes(name);
}

/** The command that replays a run. */
export function replayCommand(o: SimOptions): string {
  const flags = [`--seed ${o.seed}`];
  if (o.steps !== defaultOptions.steps) flags.push(`--steps ${o.steps}`);
  if (o.founders !== defaultOptions.founders) flags.push(`--founders ${o.founders}`);
  if (o.bug) flags.push(`--bug ${o.bug}`);
  return `npm run sim -- ${flags.join(' ')} --verbose`;
}
