// `npm run sim`: run many seeds (or replay one) and report. The wall clock is used here only to
// bound a soak (--minutes) and to report speed; it never reaches a simulated run.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { bugNames, defaultOptions, isBugName, replayCommand, type BugName, type SimOptions } from './options.js';
import { runSeed, type RunResult } from './simulator.js';
import { addStats, formatStats, newStats } from './stats.js';

const usage = `usage: npm run sim -- [--seeds N] [--from S] [--seed S] [--minutes M] [--steps N] [--founders N] [--bug NAME] [--verbose]
  --seeds N     run N seeds (default 1000)
  --from S      first seed (default 1)
  --seed S      replay one seed
  --minutes M   soak: run consecutive seeds until M minutes have passed
  --steps N     steps in each run's faulty phase (default ${defaultOptions.steps})
  --founders N  size of the founding group (default ${defaultOptions.founders})
  --bug NAME    enable a planted bug (core, or the driver's sendBeforeWrite): ${bugNames.join(', ')}
  --verbose     print the trace of every event`;

interface Plan {
  readonly from: number;
  readonly count: number;
  readonly deadline: number;
  readonly options: Omit<SimOptions, 'seed'>;
}

function parsePlan(argv: string[]): Plan {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string' }, from: { type: 'string' }, seed: { type: 'string' }, minutes: { type: 'string' },
      steps: { type: 'string' }, founders: { type: 'string' }, bug: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const bug = values.bug ?? null;
  if (bug !== null && !isBugName(bug)) throw new Error(`unknown bug ${bug}; one of ${bugNames.join(', ')}`);
  const minutes = values.minutes === undefined ? 0 : Number(values.minutes);
  if (!(minutes >= 0)) throw new Error(`--minutes must be a non-negative number, got ${values.minutes}`);
  const founders = integer(values.founders ?? String(defaultOptions.founders), 'founders');
  if (founders < 1 || founders > defaultOptions.maxNodes) throw new Error(`--founders must be 1..${defaultOptions.maxNodes}`);
  const single = values.seed !== undefined;
  return {
    from: integer(values.seed ?? values.from ?? '1', 'seed'),
    count: single ? 1 : minutes > 0 ? Number.MAX_SAFE_INTEGER : integer(values.seeds ?? '1000', 'seeds'),
    deadline: minutes > 0 && !single ? performance.now() + minutes * 60_000 : Infinity,
    options: {
      ...defaultOptions,
      steps: integer(values.steps ?? String(defaultOptions.steps), 'steps'),
      founders,
      bug: bug as BugName | null,
      verbose: values.verbose ?? false,
    },
  };
}

function integer(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${text}`);
  return n;
}

function reportFailure(r: RunResult, options: Omit<SimOptions, 'seed'>): void {
  console.log(`seed ${r.seed}: VIOLATION [${r.violation?.kind}] ${r.violation?.message}`);
  console.log(`  replay: ${replayCommand({ ...options, seed: r.seed })}`);
}

function main(): void {
  let plan: Plan;
  try {
    plan = parsePlan(process.argv.slice(2));
  } catch (err) {
    console.error(`sim: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const totals = newStats();
  const failed: number[] = [];
  const started = performance.now();
  let seeds = 0;
  for (let seed = plan.from; seeds < plan.count && performance.now() < plan.deadline; seed++, seeds++) {
    const r = runSeed({ ...plan.options, seed });
    addStats(totals, r.stats);
    if (plan.count === 1) console.log(`seed ${seed}: trace ${r.traceHash}`);
    if (r.violation) {
      failed.push(seed);
      reportFailure(r, plan.options);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`totals: ${formatStats(totals)}`);
  console.log(`speed: ${(seeds / seconds).toFixed(1)} seeds/s, ${Math.round(totals.steps / seconds)} steps/s over ${seconds.toFixed(1)} s`);
  const verdict = failed.length === 0 ? '0 violations' : `${failed.length} violations (seeds ${failed.join(', ')})`;
  console.log(`sim: ${seeds} seeds, ${totals.steps} steps, ${verdict}`);
  if (failed.length > 0) process.exitCode = 1;
}

main();
