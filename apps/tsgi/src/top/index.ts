export { runTop, TOP_USAGE, type TopIO } from './run-top.js';
export { renderTopFrame, humanDuration, humanSize, type StatsSample, type TopFrameOptions } from './top-frame.js';
export { formatStatsTarget, parseStatsTarget, readStats, StatsReadError, type StatsTarget } from './stats-reader.js';
