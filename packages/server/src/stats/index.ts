export type { CoreSnapshot, SocketSnapshot, StatsSnapshot, WorkerSnapshot } from './stats-snapshot.js';
export {
  uwsgiStatsDocument,
  type UwsgiAppStats,
  type UwsgiCoreStats,
  type UwsgiSocketStats,
  type UwsgiStatsDocument,
  type UwsgiStatsDocumentOptions,
  type UwsgiWorkerStats,
} from './uwsgi-stats-document.js';
export { PROMETHEUS_CONTENT_TYPE, prometheusText } from './prometheus-text.js';
export {
  startPrometheusServer,
  startStatsServer,
  statsErrorChannel,
  statsServedChannel,
  type PrometheusServerOptions,
  type StatsServer,
  type StatsServerOptions,
} from './stats-server.js';
export { decodeProcNetAddress, ipAddressBytes, listenQueueLength, tcpListenQueueFromProc, unixListenQueueFromProc } from './listen-queue.js';
export { StatsBindError, StatsCollectError } from './stats-errors.js';
