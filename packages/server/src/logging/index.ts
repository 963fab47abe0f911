export { formatRequestLogLine, formatCtime, formatLtime, durationMicros } from './request-log.js';
export type { RequestLogRecord, RequestLogLineOptions } from './request-log.js';
export { compileLogFormat, LOG_FORMAT_VARIABLES } from './log-format.js';
export type { LogFormatter } from './log-format.js';
export {
  Logger,
  LogFileError,
  shouldLogRequest,
  createRequestLogFormatter,
  logLineChannel,
  logErrorChannel,
} from './logger.js';
export type { LoggerOptions, RequestLogSettings } from './logger.js';
