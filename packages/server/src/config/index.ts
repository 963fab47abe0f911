export {
  OptionError,
  UnknownOptionError,
  BadOptionValueError,
  ThreadsWithGeventError,
  ConflictingOptionsError,
  ConfigError,
} from './errors.js';
export type { TsgiOptions, EnvSetting, SignalTarget, SignalTimerSetting, TouchSignalSetting } from './options.js';
export { OPTION_TABLE, OPTION_GROUPS, findOption, findShortOption, defaultOptions } from './option-table.js';
export type { OptionSpec, OptionKind, OptionGroup, OptionLoader } from './option-table.js';
export { parseCommandLine, suggestOption } from './parse-command-line.js';
export type { ParseOptions, ParsedCommandLine, RunMode } from './parse-command-line.js';
export { formatHelp, formatOptionsMarkdown } from './help.js';
export { parseSignalTarget } from './values.js';
