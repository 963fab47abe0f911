// `pnpm bench`: one run, one report. Every scenario's baseline and tsgi side are started, measured
// alternately (median of the runs, with min and max), and stopped; then the packages' own
// micro-benchmarks run. Writes bench/results/latest.{json,md,svg} and prints the table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuLayout, peerSkipReason, programSkipReason, REPO_ROOT, stopAll } from '../support/index.js';
import { findMicroPackages, runMicroBench, type MicroResult } from './micro.js';
import { chartBars, computeRatios, renderMarkdownReport, renderTextReport, type BenchReport, type ScenarioReport, type SideReport } from './report.js';
import { SCENARIOS, type BenchContext, type Scenario, type Side, type Target } from './scenarios.js';
import { summarize } from './stats.js';
import { renderRatioChart } from './svg-chart.js';

const USAGE = `usage: node scripts/bench.mjs [--quick] [--runs N] [--only REGEX] [--no-micro] [--out DIR]
  --quick      one short run per figure (a smoke check)
  --runs N     runs per figure (default 3; at least 3 for a comparison)
  --only RE    scenarios whose id matches RE
  --no-micro   skip the packages' micro-benchmarks
  --out DIR    results directory (default bench/results)`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = flags.quick!;
const runs = flags.runs ? Number(flags.runs) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, not ${flags.runs}\n${USAGE}`);
  process.exit(2);
}
const outDir = flags.out ?? join(REPO_ROOT, 'bench', 'results');
const only = flags.only ? new RegExp(flags.only) : undefined;

const ctx: BenchContext = {
  quick,
  layout: cpuLayout(),
  wrkDuration: quick ? 2 : 8,
  warmup: quick ? 1 : 2,
  sleepDuration: quick ? 4 : 12,
  ttfbRequests: quick ? 5 : 21,
};

/** Why a side cannot run here, and the status that says so, or undefined when it can. */
function blocked(side: Side): Pick<SideReport, 'status' | 'note'> | undefined {
  const programs = side.programs?.length ? programSkipReason(...side.programs) : undefined;
  if (programs) return { status: 'not-built', note: programs };
  const peers = peerSkipReason(...side.needs);
  if (peers) return { status: 'skipped', note: peers };
  return undefined;
}

interface Plan {
  scenario: Scenario;
  sides: { role: 'baseline' | 'tsgi'; side: Side; report: SideReport; samples: Record<string, number[]>; done: number }[];
  reports: { baseline: SideReport; tsgi: SideReport };
}

const scenarios = SCENARIOS.filter((s) => !only || only.test(s.id));
const plans: Plan[] = scenarios.map((scenario) => {
  const baseline: SideReport = { name: scenario.baseline.name, status: 'ok', values: {} };
  const tsgi: SideReport = scenario.tsgi
    ? { name: scenario.tsgi.name, status: 'ok', values: {} }
    : { name: scenario.tsgiPlan, status: 'not-built', note: 'not built yet', values: {} };
  const sides: Plan['sides'] = [];
  for (const [role, side, report] of [
    ['baseline', scenario.baseline, baseline],
    ['tsgi', scenario.tsgi, tsgi],
  ] as const) {
    if (!side) continue;
    const why = blocked(side);
    if (why) Object.assign(report, why);
    else sides.push({ role, side, report, samples: {}, done: 0 });
  }
  return { scenario, sides, reports: { baseline, tsgi } };
});

const microPackages = flags['no-micro'] ? [] : findMicroPackages();
const MICRO_ESTIMATE = quick ? 20 : 60;
const steps = plans.reduce((n, p) => n + p.sides.length * runs, 0) + microPackages.length;
let step = 0;
let spent = 0;
let estimatedSpent = 0;
const remainingEstimate = (): number => {
  let left = 0;
  for (const p of plans) for (const s of p.sides) left += s.side.estimate(ctx) * (runs - s.done);
  return left + MICRO_ESTIMATE * (microPackages.length - micro.length);
};
const formatDuration = (seconds: number): string => (seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`);
function progress(label: string): void {
  step++;
  // Scale the estimate by how the steps so far compared with theirs.
  const factor = estimatedSpent > 0 ? spent / estimatedSpent : 1;
  console.log(`[${step}/${steps}] ${label} … ~${formatDuration(remainingEstimate() * factor)} left`);
}

const micro: MicroResult[] = [];
const started = performance.now();
console.log(`tsgi bench: ${plans.length} scenarios, ${runs} run(s) each${quick ? ' (--quick)' : ''}; ${ctx.layout.description}`);
for (const p of plans) {
  for (const [role, report] of Object.entries(p.reports)) {
    if (report.status !== 'ok') console.log(`  ${p.scenario.id} ${role}: ${report.note}`);
  }
}

for (const plan of plans) {
  const targets = new Map<Plan['sides'][number], Target>();
  for (const entry of plan.sides) {
    try {
      targets.set(entry, await entry.side.start(ctx));
    } catch (err) {
      entry.report.status = 'failed';
      entry.report.note = `did not start: ${(err as Error).message.split('\n')[0]}`;
      console.log(`  ${plan.scenario.id} ${entry.role}: ${entry.report.note}`);
    }
  }
  // Alternate baseline and tsgi run by run, so drift on a noisy machine hits both alike.
  for (let run = 0; run < runs; run++) {
    for (const entry of plan.sides) {
      const target = targets.get(entry);
      const estimate = entry.side.estimate(ctx);
      entry.done++;
      if (!target || entry.report.status === 'failed') {
        estimatedSpent += estimate;
        spent += estimate;
        continue;
      }
      progress(`${plan.scenario.id} · ${entry.role} · run ${run + 1}/${runs}`);
      const t0 = performance.now();
      try {
        const values = await target.measure();
        for (const [key, value] of Object.entries(values)) (entry.samples[key] ??= []).push(value);
      } catch (err) {
        entry.report.status = 'failed';
        entry.report.note = `run ${run + 1} failed: ${(err as Error).message.split('\n')[0]}`;
        console.log(`  ${entry.report.note}`);
      }
      spent += (performance.now() - t0) / 1000;
      estimatedSpent += estimate;
    }
  }
  for (const [entry, target] of targets) {
    await target.stop().catch(() => undefined);
    if (entry.report.status === 'ok') {
      for (const m of plan.scenario.metrics) {
        const samples = entry.samples[m.key];
        if (samples?.length) entry.report.values[m.key] = summarize(samples);
      }
    }
  }
}

for (const pkg of microPackages) {
  progress(`micro-benchmarks of ${pkg.name}`);
  const t0 = performance.now();
  const result = await runMicroBench(pkg, { quick, timeout: quick ? 120 : 300 });
  micro.push(result);
  spent += (performance.now() - t0) / 1000;
  estimatedSpent += MICRO_ESTIMATE;
  console.log(`  ${pkg.name}: ${result.status}${result.note ? ` — ${result.note}` : ''}`);
}

await stopAll();

const scenarioReports: ScenarioReport[] = plans.map((p) => ({
  id: p.scenario.id,
  title: p.scenario.title,
  metrics: p.scenario.metrics,
  baseline: p.reports.baseline,
  tsgi: p.reports.tsgi,
  ratios: computeRatios(p.scenario.metrics, p.reports.baseline, p.reports.tsgi),
}));

const report: BenchReport = {
  date: new Date().toISOString(),
  quick,
  runs,
  machine: { cpus: availableParallelism(), node: process.version, kernel: release() },
  cores: ctx.layout.description,
  durations: { wrk: ctx.wrkDuration, warmup: ctx.warmup, sleepers: ctx.sleepDuration },
  elapsed: (performance.now() - started) / 1000,
  scenarios: scenarioReports,
  micro,
  microNote: flags['no-micro']
    ? 'micro-benchmarks skipped (--no-micro)'
    : microPackages.length === 0
      ? 'no package has a `bench` script yet'
      : undefined,
};

mkdirSync(outDir, { recursive: true });
const svg = renderRatioChart(chartBars(report), `tsgi vs baselines (${report.date.slice(0, 10)}${quick ? ', --quick' : ''})`);
writeFileSync(join(outDir, 'latest.svg'), svg);
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
writeFileSync(join(outDir, 'latest.md'), renderMarkdownReport(report, 'latest.svg'));
console.log('\n' + renderTextReport(report));
console.log(`wrote ${join(outDir, 'latest.json')}, latest.md and latest.svg (${formatDuration(report.elapsed)})`);
