/** One bar of the ratio chart: tsgi against its baseline (above 1: tsgi leads). */
export interface RatioBar {
  label: string;
  /** Undefined when there is no tsgi figure yet; `note` says why. */
  ratio?: number;
  note?: string;
}

const ROW = 26;
const LABEL_WIDTH = 330;
const PLOT_WIDTH = 420;
const RIGHT = 120;
// The axis runs from 1/8 to 8 on a log2 scale, so 0.5x and 2x are the same distance from 1.
const LOG_SPAN = 3;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** x position of `ratio` (clamped to the axis). */
export function ratioX(ratio: number): number {
  const l = Math.max(-LOG_SPAN, Math.min(LOG_SPAN, Math.log2(ratio)));
  return LABEL_WIDTH + PLOT_WIDTH / 2 + (l / LOG_SPAN) * (PLOT_WIDTH / 2);
}

/**
 * A self-contained SVG bar chart of ratios on a log scale around 1: green bars to the right where tsgi
 * leads, red to the left where it trails, and the note in place of a bar where there is no ratio.
 */
export function renderRatioChart(bars: readonly RatioBar[], title: string): string {
  const top = 44;
  const height = top + bars.length * ROW + 34;
  const width = LABEL_WIDTH + PLOT_WIDTH + RIGHT;
  const one = ratioX(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const tick of [0.125, 0.25, 0.5, 1, 2, 4, 8]) {
    const x = ratioX(tick).toFixed(1);
    const y2 = top + bars.length * ROW;
    parts.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${y2}" stroke="${tick === 1 ? '#333333' : '#dddddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${x}" y="${y2 + 16}" text-anchor="middle" fill="#555555">${tick < 1 ? `1/${1 / tick}` : tick}x</text>`);
  }
  bars.forEach((bar, i) => {
    const y = top + i * ROW;
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${escapeXml(bar.label)}</text>`);
    if (bar.ratio === undefined || !Number.isFinite(bar.ratio) || bar.ratio <= 0) {
      parts.push(`<text x="${(one + 6).toFixed(1)}" y="${y + ROW / 2 + 4}" fill="#888888" font-style="italic">${escapeXml(bar.note ?? 'no figure')}</text>`);
      return;
    }
    const x = ratioX(bar.ratio);
    const lead = bar.ratio >= 1;
    const left = Math.min(x, one);
    const w = Math.max(Math.abs(x - one), 1);
    parts.push(
      `<rect class="${lead ? 'lead' : 'trail'}" x="${left.toFixed(1)}" y="${y + 5}" width="${w.toFixed(1)}" height="${ROW - 10}" fill="${lead ? '#2e9e4f' : '#d0453a'}"/>`,
    );
    const labelX = lead ? x + 6 : x - 6;
    parts.push(`<text x="${labelX.toFixed(1)}" y="${y + ROW / 2 + 4}" text-anchor="${lead ? 'start' : 'end'}">${bar.ratio.toFixed(2)}x</text>`);
  });
  parts.push(`<text x="${one.toFixed(1)}" y="${height - 4}" text-anchor="middle" fill="#555555">tsgi / baseline (right of 1x: tsgi leads)</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
