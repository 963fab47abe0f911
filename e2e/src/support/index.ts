// The e2e peer toolkit: start real peers and our own programs as processes, on ephemeral ports, and
// measure them. Every e2e test of the project imports from here.
export { E2eError, type E2eErrorCode } from './errors.js';
export {
  startProcess,
  stopAll,
  liveProcesses,
  type ExitInfo,
  type OutputLine,
  type StartProcessOptions,
  type StartedProcess,
} from './process.js';
export {
  ADDRESS_IN_USE,
  formatAddress,
  isUnixAddress,
  listeningTcpAddresses,
  parseProcNetTcp,
  reserveEphemeralPort,
  waitForListening,
  withPortRetry,
  type PeerAddress,
  type TcpAddress,
  type UnixAddress,
} from './ports.js';
export { hasBinary, peerSkipReason, requirePeer, SYSTEM_PYTHON, type PeerName } from './peers.js';
export { makeTempDir, removeTempDir } from './temp.js';
export { renderNginxConfig, startNginx, type NginxLocation, type NginxOptions, type RunningNginx } from './nginx.js';
export {
  startUwsgi,
  startUwsgiHttpRouter,
  type RunningUwsgi,
  type RunningUwsgiHttpRouter,
  type UwsgiHttpRouterOptions,
  type UwsgiOptions,
} from './uwsgi.js';
export { renderApacheConfig, startApache, type ApacheOptions, type RunningApache } from './apache.js';
export { cpuLayout, parseWrkOutput, runWrk, type CpuLayout, type WrkOptions, type WrkResult } from './wrk.js';
export { curlN, httpGetChunks, type CurlResult, type HttpChunksOptions, type HttpChunksResult, type TimedChunk } from './chunks.js';
export {
  BOUND_SOCKET_LINE,
  parseBoundSocketLine,
  parseBoundSockets,
  socketKindsFromArgs,
  type BoundSocket,
  type SocketKind,
} from './bound-sockets.js';
export {
  EDGE_BIN,
  EDGE_LISTENING_LINE,
  edgeBuilt,
  programSkipReason,
  REFERENCE_DIR,
  REPO_ROOT,
  startEdge,
  startTsgi,
  TSGI_BIN,
  tsgiBuilt,
  type ProgramOptions,
  type RunningEdge,
  type RunningTsgi,
} from './tsgi.js';
export { peakRss, readRss, sampleRss, type RssSampler } from './rss.js';
