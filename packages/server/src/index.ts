export { edgeFrontRouter, runServer, type FrontRouterRequest, type RunServerContext } from './run-server.js';
export { runSignalClient } from './signal-client.js';
export { Master, ctime, type BoundSocket, type MasterIO } from './master.js';
export {
  listenQueueLength,
  prometheusText,
  PROMETHEUS_CONTENT_TYPE,
  startPrometheusServer,
  startStatsServer,
  StatsBindError,
  StatsCollectError,
  uwsgiStatsDocument,
  type CoreSnapshot,
  type SocketSnapshot,
  type StatsServer,
  type StatsServerOptions,
  type StatsSnapshot,
  type UwsgiStatsDocument,
  type WorkerSnapshot,
} from './stats/index.js';
export { TSGI_VERSION } from './version.js';
export { LoopEngine, type EngineLogger, type EngineOptions, type EngineSocket, type RequestLogRecord } from './engine/loop-engine.js';
export { AcceptGate, type AcceptGateOptions } from './engine/accept-gate.js';
export { AsyncCores, type CoreStats } from './engine/async-cores.js';
export { loadApp, splitModuleSpec, registerTypeScriptLoader, type AppSpec, type LoadedApp } from './engine/app-loader.js';
export { toTsgiApplication } from './engine/app-adapter.js';
export { parseSocketAddress, formatSocketAddress, type SocketAddress } from './engine/socket-address.js';
export { bindHandle, type BoundHandle } from './engine/listen-handle.js';
export { TsgiInput } from './engine/tsgi-input.js';
export { addTsgiKeys, decodePathBytes, httpRequestVars, urlScheme, type Environ } from './engine/environ.js';
export {
  RequestRunner,
  type Chunk,
  type RequestOutcome,
  type ResponseBody,
  type StartResponse,
  type TsgiApplication,
  type WriteCallable,
} from './engine/request-runner.js';
export { currentRequest, type RequestContext } from './engine/request-context.js';
export {
  AppLoadError,
  AsyncApiForbiddenError,
  ClientDisconnectedError,
  HarakiriError,
  NoRequestContextError,
  NotInWorkerError,
  RequestReadTimeoutError,
  ResponseBodyError,
  SocketBindError,
  StartResponseError,
  TsgiError,
  WriteTimeoutError,
} from './errors.js';
export {
  BadOptionValueError,
  ConfigError,
  ConflictingOptionsError,
  defaultOptions,
  findOption,
  findShortOption,
  formatHelp,
  formatOptionsMarkdown,
  OPTION_GROUPS,
  OPTION_TABLE,
  OptionError,
  parseCommandLine,
  parseSignalTarget,
  suggestOption,
  ThreadsWithGeventError,
  UnknownOptionError,
  type EnvSetting,
  type OptionGroup,
  type OptionKind,
  type OptionLoader,
  type OptionSpec,
  type ParsedCommandLine,
  type ParseOptions,
  type RunMode,
  type SignalTarget,
  type SignalTimerSetting,
  type TouchSignalSetting,
  type TsgiOptions,
} from './config/index.js';
export { formatRequestLogLine, formatCtime, type RequestLogLineOptions } from './logging/request-log.js';
export { compileLogFormat, LOG_FORMAT_VARIABLES, type LogFormatter } from './logging/log-format.js';
export { fromNodeListener, type NodeRequestListener } from './adapters/node-listener.js';
export { fromFetch, type FetchHandler } from './adapters/fetch-handler.js';
export { toNodeListener, type ToNodeListenerOptions } from './adapters/to-node-listener.js';
export { AdapterArgumentError, FetchResponseError, NodeResponseError } from './adapters/errors.js';
export { detectApp, type AppType, type DetectedApp } from './engine/app-adapter.js';
