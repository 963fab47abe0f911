import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flattenBenchJson } from './micro.js';
import { chartBars, computeRatios, renderMarkdownReport, renderTextReport, type BenchReport, type SideReport } from './report.js';
import type { Metric } from './scenarios.js';
import { summarize } from './stats.js';

const METRICS: Metric[] = [
  { key: 'rps', label: 'requests/s', unit: 'req/s', better: 'higher' },
  { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower' },
];
const measured = (rps: number[], p99: number[]): SideReport => ({ name: 'x', status: 'ok', values: { rps: summarize(rps), p99: summarize(p99) } });

function report(): BenchReport {
  const baseline = measured([1000, 1200, 1100], [4, 5, 6]);
  const tsgi = measured([2200, 2000, 2400], [2, 2.5, 3]);
  const notBuilt: SideReport = { name: 'tsgi-edge static', status: 'not-built', note: 'not built yet', values: {} };
  return {
    date: '2026-11-24T00:00:00.000Z',
    quick: false,
    runs: 3,
    machine: { cpus: 2, node: 'v20.20.2', kernel: '6.18' },
    cores: 'pinned with taskset: servers on CPU 1, wrk on CPU 0',
    durations: { wrk: 8, warmup: 2, sleepers: 12 },
    elapsed: 300,
    scenarios: [
      { id: 'hello', title: 'hello | pipes', metrics: METRICS, baseline, tsgi, ratios: computeRatios(METRICS, baseline, tsgi) },
      { id: 'static', title: 'static', metrics: METRICS, baseline, tsgi: notBuilt, ratios: computeRatios(METRICS, baseline, notBuilt) },
    ],
    micro: [{ package: '@tsgi/hub', status: 'ok', elapsed: 3, rows: [{ key: 'spawn.ratio', value: 2.5 }] }],
  };
}

describe('bench report', () => {
  it('computes ratios oriented so that above 1 means tsgi leads, only when both sides were measured', () => {
    const r = report();
    assert.deepEqual(r.scenarios[0].ratios, { rps: 2, p99: 2 });
    assert.deepEqual(r.scenarios[1].ratios, {});
  });

  it('prints medians with min–max, "tsgi: not built yet" instead of a figure, and how the cores were shared', () => {
    const text = renderTextReport(report());
    assert.match(text, /hello\s+requests\/s \[req\/s\]\s+1,100 \(1,000–1,200\)\s+2,200 \(2,000–2,400\)\s+2\.00x/);
    assert.match(text, /static\s+requests\/s \[req\/s\]\s+1,100 \(1,000–1,200\)\s+tsgi: not built yet\s+—/);
    assert.match(text, /cores: pinned with taskset/);
    assert.match(text, /spawn\.ratio = 2\.50/);
  });

  it('writes Markdown with the chart embedded, escaped cells and the micro-benchmarks', () => {
    const md = renderMarkdownReport(report(), 'latest.svg');
    assert.match(md, /!\[tsgi \/ baseline ratios\]\(latest\.svg\)/);
    assert.match(md, /\| hello \| requests\/s \[req\/s\] \| 1,100 \(1,000–1,200\) \| 2,200 \(2,000–2,400\) \| 2\.00x \|/);
    assert.match(md, /hello \\\| pipes/);
    assert.match(md, /### @tsgi\/hub \(ok, 3 s\)/);
  });

  it('charts every metric: a ratio, or the reason there is none', () => {
    const bars = chartBars(report());
    assert.deepEqual(bars.map((b) => [b.label, b.ratio, b.note]), [
      ['hello: requests/s', 2, undefined],
      ['hello: p99 latency', 2, undefined],
      ['static: requests/s', undefined, 'tsgi: not built yet'],
      ['static: p99 latency', undefined, 'tsgi: not built yet'],
    ]);
  });
});

describe('flattenBenchJson', () => {
  it('keeps every leaf with its path, naming array items by their `name`', () => {
    assert.deepEqual(
      flattenBenchJson({ node: 'v20', results: [{ name: 'spawn', opsPerSec: 5, unit: 'op/s' }, [1, 2]], ok: true }),
      [
        { key: 'node', value: 'v20' },
        { key: 'results.spawn.opsPerSec', value: 5 },
        { key: 'results.spawn.unit', value: 'op/s' },
        { key: 'results[1][0]', value: 1 },
        { key: 'results[1][1]', value: 2 },
        { key: 'ok', value: 'true' },
      ],
    );
  });
  it('stops at the row limit', () => {
    assert.equal(flattenBenchJson(Array.from({ length: 100 }, (_, i) => i), 10).length, 10);
  });
});
