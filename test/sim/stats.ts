// Counters of what a run did: faults injected and work performed. The soak report sums them over
// seeds, and the tests use them to prove that the faults they rely on actually happen.
// (crashes counts every crash; readyCrashes is the part that struck inside Ready processing;
// sentTailsLost the crashes that lost a leader's write whose entries had already been sent;
// appliedWhileWriting the entries a node applied while one of its writes was still running;
// toldRemoved the removed nodes that learnt it from a leader's Removed, not from the log.)

export const statNames = [
  'steps', 'messages', 'delivered', 'drops', 'partitionDrops', 'dups', 'delaySpikes', 'partitions',
  'crashes', 'readyCrashes', 'restarts', 'slowdowns', 'slowDisks', 'weatherChanges', 'snapshotsSent',
  'snapshotsInstalled', 'compactions', 'confChangesProposed', 'confChangesApplied', 'transfers',
  'leaderChanges', 'proposals', 'proposalsDropped', 'reportedCommitted', 'duplicateApplies',
  'reads', 'readsCompleted', 'sentBeforeWrite', 'sentTailsLost', 'appliedWhileWriting', 'toldRemoved',
] as const;

export type StatName = (typeof statNames)[number];
export type Stats = Record<StatName, number>;

export function newStats(): Stats {
  return Object.fromEntries(statNames.map((name) => [name, 0])) as Stats;
}

export function addStats(into: Stats, from: Stats): void {
  for (const name of statNames) into[name] += from[name];
}

export function formatStats(stats: Stats): string {
  return statNames.map((name) => `${name}=${stats[name]}`).join(' ');
}
