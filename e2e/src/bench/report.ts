import type { MicroResult } from './micro.js';
import type { Metric } from './scenarios.js';
import { formatFigure, ratio, type Summary } from './stats.js';
import type { RatioBar } from './svg-chart.js';

/** What happened to one side of a scenario in this run. */
export interface SideReport {
  name: string;
  /** ok: measured; skipped: a peer is missing; not-built: our program does not exist yet; failed: it broke. */
  status: 'ok' | 'skipped' | 'not-built' | 'failed';
  note?: string;
  values: Record<string, Summary>;
}

export interface ScenarioReport {
  id: string;
  title: string;
  metrics: Metric[];
  baseline: SideReport;
  tsgi: SideReport;
  /** Per metric, tsgi against the baseline (above 1: tsgi leads), when both were measured. */
  ratios: Record<string, number>;
}

export interface BenchReport {
  date: string;
  quick: boolean;
  runs: number;
  machine: { cpus: number; node: string; kernel: string };
  cores: string;
  durations: { wrk: number; warmup: number; sleepers: number };
  elapsed: number;
  scenarios: ScenarioReport[];
  micro: MicroResult[];
  microNote?: string;
}

export function computeRatios(metrics: Metric[], baseline: SideReport, tsgi: SideReport): Record<string, number> {
  const out: Record<string, number> = {};
  if (baseline.status !== 'ok' || tsgi.status !== 'ok') return out;
  for (const m of metrics) {
    const b = baseline.values[m.key];
    const t = tsgi.values[m.key];
    if (b && t && b.median > 0 && t.median > 0) out[m.key] = ratio(t.median, b.median, m.better);
  }
  return out;
}

function cell(side: SideReport, key: string): string {
  if (side.status === 'ok') {
    const s = side.values[key];
    if (!s) return '—';
    return s.samples.length > 1 ? `${formatFigure(s.median)} (${formatFigure(s.min)}–${formatFigure(s.max)})` : formatFigure(s.median);
  }
  return side.status === 'not-built' ? 'tsgi: not built yet' : side.status === 'skipped' ? 'skipped' : 'failed';
}

function rows(report: BenchReport): string[][] {
  const out: string[][] = [];
  for (const s of report.scenarios) {
    for (const m of s.metrics) {
      const r = s.ratios[m.key];
      out.push([s.id, `${m.label} [${m.unit}]`, cell(s.baseline, m.key), cell(s.tsgi, m.key), r === undefined ? '—' : `${r.toFixed(2)}x`]);
    }
  }
  return out;
}

const HEADER = ['scenario', 'metric', 'baseline: median (min–max)', 'tsgi: median (min–max)', 'tsgi/baseline'];

function notes(report: BenchReport): string[] {
  const out: string[] = [];
  for (const s of report.scenarios) {
    out.push(`${s.id}: baseline = ${s.baseline.name}${s.baseline.note ? ` — ${s.baseline.note}` : ''}`);
    out.push(`${s.id}: tsgi = ${s.tsgi.name}${s.tsgi.note ? ` — ${s.tsgi.note}` : ''}`);
  }
  return out;
}

/** The plain-text table printed at the end of a run. */
export function renderTextReport(report: BenchReport): string {
  const table = [HEADER, ...rows(report)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(table[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line), ''];
  out.push(`cores: ${report.cores}`);
  out.push(`runs: ${report.runs} per figure${report.quick ? ' (--quick: smoke check, not for comparison)' : ''}; ratios above 1 mean tsgi leads`);
  out.push(...notes(report));
  for (const m of report.micro) {
    out.push('', `micro-benchmarks of ${m.package}: ${m.status}${m.note ? ` — ${m.note}` : ''}`);
    for (const row of m.rows) out.push(`  ${row.key} = ${typeof row.value === 'number' ? formatFigure(row.value) : row.value}`);
  }
  if (report.microNote) out.push('', report.microNote);
  return out.join('\n') + '\n';
}

const mdEscape = (text: string): string => text.replace(/\|/g, '\\|');

/** The Markdown report; `chartFile` is the SVG written beside it. */
export function renderMarkdownReport(report: BenchReport, chartFile: string): string {
  const out: string[] = [
    '# tsgi benchmarks',
    '',
    `Run of ${report.date} (${report.elapsed.toFixed(0)} s): Node ${report.machine.node}, kernel ${report.machine.kernel}, ${report.machine.cpus} CPUs.` +
      (report.quick ? ' **--quick run: one short run per figure, a smoke check, not a comparison.**' : ''),
    '',
    `**Cores:** ${report.cores}.`,
    '',
    `Each figure is the median of ${report.runs} run(s) with min–max; wrk -t1, ${report.durations.wrk} s per run after a ${report.durations.warmup} s warm-up (sleeping requests: ${report.durations.sleepers} s, after a warm-up at the same concurrency and a 2 s pause for the requests it left behind). ` +
      'Baseline and tsgi are measured in the same run, alternately. A ratio above 1 means tsgi leads (for lower-is-better metrics it is baseline/tsgi).',
    '',
    `![tsgi / baseline ratios](${chartFile})`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows(report).map((r) => `| ${r.map(mdEscape).join(' | ')} |`),
    '',
    '## Scenarios',
    '',
  ];
  for (const s of report.scenarios) {
    out.push(`- **${s.id}**: ${mdEscape(s.title)}`);
    out.push(`  - baseline: ${s.baseline.name} (${s.baseline.status}${s.baseline.note ? `: ${s.baseline.note}` : ''})`);
    out.push(`  - tsgi: ${s.tsgi.name} (${s.tsgi.status}${s.tsgi.note ? `: ${s.tsgi.note}` : ''})`);
  }
  out.push('', '## Micro-benchmarks (from the packages\' `bench` scripts)', '');
  if (report.micro.length === 0) out.push(report.microNote ?? 'none');
  for (const m of report.micro) {
    out.push(`### ${m.package} (${m.status}, ${m.elapsed.toFixed(0)} s)`, '');
    if (m.note) out.push(m.note, '');
    if (m.rows.length) {
      out.push('| figure | value |', '|---|---|');
      for (const row of m.rows) out.push(`| ${mdEscape(row.key)} | ${typeof row.value === 'number' ? formatFigure(row.value) : mdEscape(row.value)} |`);
      out.push('');
    }
  }
  if (report.micro.length && report.microNote) out.push(report.microNote);
  return out.join('\n') + '\n';
}

/** One bar per scenario metric: the ratio, or why there is none. */
export function chartBars(report: BenchReport): RatioBar[] {
  const bars: RatioBar[] = [];
  for (const s of report.scenarios) {
    for (const m of s.metrics) {
      const why = s.tsgi.status === 'not-built' ? 'tsgi: not built yet' : s.baseline.status !== 'ok' ? `baseline ${s.baseline.status}` : s.tsgi.status !== 'ok' ? `tsgi ${s.tsgi.status}` : undefined;
      bars.push({ label: `${s.id}: ${m.label}`, ratio: s.ratios[m.key], note: why });
    }
  }
  return bars;
}
