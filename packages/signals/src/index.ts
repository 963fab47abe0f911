export { SignalError, serializeSignalError, deserializeSignalError } from './errors.js';
export type { SignalErrorCode, SerializedSignalError } from './errors.js';
export { SIGNAL_COUNT, isSignalNumber, assertSignalNumber, parseSignalTarget, formatSignalTarget } from './signal-target.js';
export type { SignalTarget } from './signal-target.js';
export { SignalTable } from './signal-table.js';
export type { SignalEntry, SignalHandler, RegisterOutcome } from './signal-table.js';
export { routeSignal } from './routing.js';
export type { WorkerSignalState, SignalRoute } from './routing.js';
export { cronMatches, cronFieldsOf, validateCronSpec } from './cron.js';
export type { CronSpec, CronFields } from './cron.js';
export { systemClock } from './clock.js';
export type { SignalClock } from './clock.js';
export { SignalSources, SIGNAL_SOURCE_LIMIT, normalizeSourceSpec, sourceKey } from './signal-sources.js';
export type { SignalSourceSpec, SignalSourceKind, SignalSourceInfo, SignalSourcesOptions, AddSourceResult } from './signal-sources.js';
export { SignalQueue, DEFAULT_SIGNAL_QUEUE_SIZE } from './signal-queue.js';
export type { SignalQueuePolicy, SignalQueueStatus, SignalQueueOptions, SignalQueueStats } from './signal-queue.js';
export { SignalMaster } from './signal-master.js';
export type { SignalMasterOptions, SignalRaiseResult, SignalMasterStats } from './signal-master.js';
export { createSignalAllowList, DEFAULT_SIGNAL_ALLOW } from './signal-allow.js';
export type { SignalAllowList, SignalAllowOptions } from './signal-allow.js';
export {
  formatSignalClientResult,
  parseSignalClientArgument,
  parseSignalTimerOption,
  parseTouchSignalOption,
} from './signal-client.js';
export type { SignalClientOutcome, SignalClientResult, SignalClientArgument } from './signal-client.js';
export { raiseChannel, deliverChannel, errorChannel } from './channels.js';
export type { RaiseMessage, DeliverMessage, SignalErrorMessage } from './channels.js';
export { SignalReceiver } from './signal-receiver.js';
export type { SignalReceiverOptions, SignalReceiverStats } from './signal-receiver.js';
export { createSignalApi } from './signal-api.js';
export type { SignalApi, SignalApiOptions, SignalTransport } from './signal-api.js';
export { createSignalDecorators } from './signal-decorators.js';
export type { SignalDecorators, SignalBinding, SignalBindingOptions } from './signal-decorators.js';
export { PostforkRegistry } from './postfork.js';
export type { PostforkHandler } from './postfork.js';
export { InProcessTransport, createInProcessSignals } from './in-process.js';
export type { InProcessSignals, InProcessSignalsOptions, InProcessWorker } from './in-process.js';
