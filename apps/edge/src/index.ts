export { main, parseArgs, buildConfig, helpText, type ParsedArgs } from './cli.js';
export { EdgeServer, normalizeUriPath, type EdgeServerOptions } from './edge-server.js';
export {
  normalizeConfig,
  loadConfigFile,
  matchLocation,
  parseSocketAddress,
  addressLabel,
  type EdgeConfig,
  type Location,
  type UwsgiLocation,
  type ProxyLocation,
  type StaticLocation,
  type UpstreamGroupConfig,
  type UpstreamServer,
  type SocketAddress,
  type NextUpstreamPolicy,
} from './config.js';
export { OPTIONS, optionsMarkdown, type OptionSpec, type OptionKind } from './option-table.js';
export { parseSize, parseTime, parseBuffers, parseFlag } from './units.js';
export { Balancer, type Peer } from './balancer.js';
export { BufferChain, type BufferChainOptions } from './buffer-chain.js';
export { formatAccess, formatError, type AccessEntry, type ErrorContext } from './logs.js';
export { EdgeError, EdgeConfigError, EdgeUpstreamError, EdgeClientError, type UpstreamFailure, type UpstreamPhase } from './errors.js';
export * as channels from './channels.js';
