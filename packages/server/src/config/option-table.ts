import type { TsgiOptions } from './options.js';
import {
  parseAddress,
  parseAllowEntry,
  parseBoolean,
  parseEnum,
  parseEnvSetting,
  parseLogFile,
  parseNodeFlag,
  parseNumber,
  parseSignalTarget,
  parseSignalTimer,
  parseSize,
  parseString,
  parseTouchSignal,
} from './values.js';

export type OptionKind = 'boolean' | 'number' | 'string' | 'list' | 'enum' | 'size';

/** The groups of `tsgi --help` and docs/options.md, in display order. */
export const OPTION_GROUPS = [
  'Sockets and protocol',
  'Loop engine',
  'Application',
  'Processes',
  'Reloading and recycling',
  'Harakiri',
  'Stats',
  'Signals',
  'Logging',
  'HTTP router (--http)',
  'Configuration files',
  'Accepted and ignored',
  'General',
] as const;
export type OptionGroup = (typeof OPTION_GROUPS)[number];

/** Config loaders run while options are collected, so what they load lands where they appear. */
export type OptionLoader = 'ini' | 'json' | 'yaml' | 'include' | 'placeholder';

/** One flag of tsgi, described once: the CLI parser, the file loaders, --help and docs/options.md all read this. */
export interface OptionSpec {
  /** Long name, as in `--name` and as the key in ini/json/yaml files. */
  readonly name: string;
  /** The field of TsgiOptions it sets. */
  readonly key: keyof TsgiOptions;
  readonly kind: OptionKind;
  /** One-letter alias, where uWSGI has one (`-s` for --socket). */
  readonly short: string | null;
  /** Other long names that mean exactly this option (`workers` for `processes`). */
  readonly aliases: readonly string[];
  readonly default: unknown;
  /** How the default reads in --help and the docs. */
  readonly defaultText: string;
  /** The value's name in --help (`ADDR`, `N`, `SECONDS`); null for booleans. */
  readonly placeholder: string | null;
  readonly help: string;
  /** The uWSGI option this one mirrors, or null for tsgi-only flags. */
  readonly mirrors: string | null;
  readonly group: OptionGroup;
  /** enum choices. */
  readonly choices: readonly string[] | null;
  /** Parses one raw value (one item, for lists). `name` is the spelling used, for error messages. */
  readonly parse: (raw: string | undefined, name: string) => unknown;
  /** If set, the option is accepted only so that uWSGI command lines work, and this note is logged. */
  readonly ignoredNote: string | null;
  /** Options that need a master process turn it on (uWSGI's UWSGI_OPT_MASTER). */
  readonly impliesMaster: boolean;
  readonly loader: OptionLoader | null;
}

interface Def {
  name: string;
  key: keyof TsgiOptions;
  kind: OptionKind;
  help: string;
  mirrors: string | null;
  group: OptionGroup;
  default?: unknown;
  defaultText?: string;
  short?: string;
  aliases?: string[];
  placeholder?: string;
  choices?: readonly string[];
  parse?: (raw: string | undefined, name: string) => unknown;
  ignoredNote?: string;
  impliesMaster?: boolean;
  loader?: OptionLoader;
}

function defaultFor(d: Def): unknown {
  if (d.default !== undefined) return d.default;
  switch (d.kind) {
    case 'boolean':
      return false;
    case 'list':
      return [];
    default:
      return null;
  }
}

function describeDefault(value: unknown): string {
  if (value === null) return '(none)';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(', ');
  return String(value);
}

function parserFor(d: Def): (raw: string | undefined, name: string) => unknown {
  if (d.parse) return d.parse;
  switch (d.kind) {
    case 'boolean':
      return (raw, name) => parseBoolean(name, raw);
    case 'enum':
      return (raw, name) => parseEnum(name, raw, d.choices ?? []);
    default:
      return (raw, name) => parseString(name, raw, (d.placeholder ?? 'VALUE').toLowerCase());
  }
}

const int = (min: number, max?: number) => (raw: string | undefined, name: string) => parseNumber(name, raw, { min, max });
const seconds = (min: number) => (raw: string | undefined, name: string) => parseNumber(name, raw, { min, fractional: true });
const size = (min: number, max?: number) => (raw: string | undefined, name: string) => parseSize(name, raw, { min, max });
const address = (raw: string | undefined, name: string) => parseAddress(name, raw);

const defs: Def[] = [
  // Sockets and protocol
  { name: 'socket', short: 's', aliases: ['uwsgi-socket'], key: 'socket', kind: 'list', placeholder: 'ADDR', parse: address, mirrors: 'socket', group: 'Sockets and protocol',
    help: 'Listen on ADDR with the uwsgi protocol (what nginx uwsgi_pass speaks): `:3031` (every interface), `host:port`, `[v6]:port` or a unix socket path. Repeatable.' },
  { name: 'http-socket', key: 'httpSocket', kind: 'list', placeholder: 'ADDR', parse: address, mirrors: 'http-socket', group: 'Sockets and protocol',
    help: 'Listen on ADDR with HTTP/1.1 (keep-alive on), for use without a front proxy. Repeatable.' },
  { name: 'listen', short: 'l', key: 'listen', kind: 'number', default: 100, placeholder: 'N', parse: int(1, 65535), mirrors: 'listen', group: 'Sockets and protocol',
    help: 'Listen backlog of every socket: connections waiting for a free async core queue here.' },
  { name: 'buffer-size', short: 'b', key: 'bufferSize', kind: 'size', default: 4096, placeholder: 'BYTES', parse: size(1, 65535), mirrors: 'buffer-size', group: 'Sockets and protocol',
    help: 'Largest uwsgi request header (vars) accepted; bigger packets are refused with `invalid request block size`. At most 65535.' },
  { name: 'socket-timeout', short: 'z', key: 'socketTimeout', kind: 'number', default: 30, placeholder: 'SECONDS', parse: seconds(0.001), mirrors: 'socket-timeout', group: 'Sockets and protocol',
    help: 'Timeout of every read and write wait on a client connection. 30 as with uWSGI --gevent (uWSGI\'s own default, 4, is for its sync mode, which tsgi does not have).' },
  { name: 'limit-post', key: 'limitPost', kind: 'size', default: 0, placeholder: 'BYTES', parse: size(0), mirrors: 'limit-post', group: 'Sockets and protocol',
    help: 'Refuse request bodies larger than BYTES (0: no limit).' },
  { name: 'post-buffering', key: 'postBuffering', kind: 'size', default: 0, placeholder: 'BYTES', parse: size(0), mirrors: 'post-buffering', group: 'Sockets and protocol',
    help: 'Read the whole request body before calling the app (in memory below BYTES, else a temp file); 0: stream it.' },

  // Loop engine
  { name: 'gevent', key: 'gevent', kind: 'number', default: 1, placeholder: 'N', parse: int(1), mirrors: 'gevent', group: 'Loop engine',
    help: 'Run the gevent loop engine with N async cores: at most N requests at once per worker, each in its own greenlet.' },
  { name: 'async', key: 'gevent', kind: 'number', default: 1, placeholder: 'N', parse: int(1), mirrors: 'async', group: 'Loop engine',
    help: 'Number of async cores. With `--loop gevent` this is `--gevent N`; tsgi has no other loop engine, so it always is.' },
  { name: 'loop', key: 'loop', kind: 'enum', default: 'gevent', placeholder: 'ENGINE', choices: ['gevent'], mirrors: 'loop', group: 'Loop engine',
    help: 'Loop engine. tsgi has one: gevent.' },
  { name: 'threads', key: 'threads', kind: 'number', default: 1, placeholder: 'N', parse: int(1), mirrors: 'threads', group: 'Loop engine',
    help: 'Accepted only as 1: threads cannot share a worker with the gevent engine (uWSGI issue #858). Use --processes to scale instead.' },
  { name: 'enable-threads', short: 'T', key: 'enableThreads', kind: 'boolean', default: true, mirrors: 'enable-threads', group: 'Loop engine',
    help: 'Stub kept for uWSGI command lines (uWSGI too turns it on by default since 2.0.27). Node worker_threads stay available to apps.' },
  { name: 'gevent-monkey-patch', key: 'geventMonkeyPatch', kind: 'boolean', mirrors: 'gevent-monkey-patch', group: 'Loop engine',
    help: 'Patch timers, net and AsyncLocalStorage (@tsgi/monkey patchAll) in each worker after the app is loaded, before the first request.' },
  { name: 'gevent-early-monkey-patch', key: 'geventEarlyMonkeyPatch', kind: 'boolean', mirrors: 'gevent-early-monkey-patch', group: 'Loop engine',
    help: 'Patch before the app is loaded, so modules that capture setTimeout or net at import time get the patched ones (uWSGI issue #701).' },

  // Application
  { name: 'module', short: 'w', aliases: ['wsgi', 'wsgi-file', 'file'], key: 'module', kind: 'string', placeholder: 'MODULE', mirrors: 'module', group: 'Application',
    help: 'The app: a .ts/.mts/.js/.mjs file or package, optionally `module:callable`. `--wsgi-file PATH` is accepted as the same thing.' },
  { name: 'callable', key: 'callable', kind: 'string', default: 'application', placeholder: 'NAME', mirrors: 'callable', group: 'Application',
    help: 'Name of the export to serve when --module does not name one.' },
  { name: 'app-type', key: 'appType', kind: 'enum', placeholder: 'TYPE', choices: ['tsgi', 'node', 'fetch'], mirrors: null, group: 'Application', defaultText: 'detected',
    help: 'What the export is: `tsgi` application(environ, startResponse), `node` request listener (Express, Koa, Fastify), or `fetch` handler (Hono). Detected when not given.' },
  { name: 'need-app', key: 'needApp', kind: 'boolean', default: true, mirrors: 'need-app', group: 'Application',
    help: 'Exit with an error when the app cannot be loaded (on by default, as in uWSGI 2.1).' },
  { name: 'chdir', key: 'chdir', kind: 'string', placeholder: 'DIR', mirrors: 'chdir', group: 'Application',
    help: 'Change to DIR before loading the app.' },
  { name: 'env', key: 'env', kind: 'list', placeholder: 'KEY=VALUE', parse: (raw, name) => parseEnvSetting(name, raw), mirrors: 'env', group: 'Application',
    help: 'Set an environment variable before loading the app. Repeatable.' },
  { name: 'catch-exceptions', key: 'catchExceptions', kind: 'boolean', mirrors: 'catch-exceptions', group: 'Application',
    help: 'Send the stack of an uncaught app error in the 500 response body (for development only).' },
  { name: 'disable-write-exception', key: 'disableWriteException', kind: 'boolean', mirrors: 'disable-write-exception', group: 'Application',
    help: 'Do not throw into the app when a response write fails (client gone); the write is dropped and logged.' },

  // Processes
  { name: 'master', short: 'M', key: 'master', kind: 'boolean', mirrors: 'master', group: 'Processes',
    help: 'Run a master process that spawns, watches and respawns the workers, routes signals and serves stats.' },
  { name: 'processes', short: 'p', aliases: ['workers'], key: 'processes', kind: 'number', default: 1, placeholder: 'N', parse: int(1), mirrors: 'processes', group: 'Processes',
    help: 'Number of worker processes, each with its own hub and async cores, all accepting from the shared sockets.' },
  { name: 'worker-node-arg', key: 'workerNodeArg', kind: 'list', placeholder: 'FLAG', parse: (raw, name) => parseNodeFlag(name, raw), mirrors: null, group: 'Processes',
    help: 'A Node or V8 flag for every worker process, after the ones tsgi itself runs under. Repeatable. Also for flags NODE_OPTIONS refuses, such as `--worker-node-arg=--heap-growing-percent=30`.' },
  { name: 'worker-heap', key: 'workerHeap', kind: 'enum', default: 'lean', placeholder: 'MODE', choices: ['lean', 'v8'], mirrors: null, group: 'Processes',
    help: '`lean`: workers run with a 2 MiB young generation (`--max-semi-space-size=2`) and `--heap-growing-percent=50`, a third of the RSS per waiting request of V8\'s defaults at 10,000 in flight. `v8`: V8\'s defaults. A flag you set yourself (NODE_OPTIONS, tsgi\'s own Node flags, --worker-node-arg) wins. See packages/server/README.md, "Memory".' },
  { name: 'master-fifo', key: 'masterFifo', kind: 'list', placeholder: 'PATH', impliesMaster: true, mirrors: 'master-fifo', group: 'Processes',
    help: 'Create a FIFO the master reads one-letter commands from (r reload, q graceful stop, Q brutal stop, w reload workers, c chain reload, s stats). Repeatable.' },
  { name: 'pidfile', key: 'pidfile', kind: 'string', placeholder: 'PATH', mirrors: 'pidfile', group: 'Processes',
    help: 'Write the master\'s pid (or the single worker\'s) to PATH.' },
  { name: 'vacuum', key: 'vacuum', kind: 'boolean', mirrors: 'vacuum', group: 'Processes',
    help: 'Remove unix sockets and the pidfile on exit.' },
  { name: 'uid', key: 'uid', kind: 'string', placeholder: 'USER', mirrors: 'uid', group: 'Processes',
    help: 'Drop to this user (name or id) after binding, when started as root.' },
  { name: 'gid', key: 'gid', kind: 'string', placeholder: 'GROUP', mirrors: 'gid', group: 'Processes',
    help: 'Drop to this group (name or id) after binding, when started as root.' },

  // Reloading and recycling
  { name: 'worker-reload-mercy', key: 'workerReloadMercy', kind: 'number', default: 60, placeholder: 'SECONDS', parse: seconds(0), mirrors: 'worker-reload-mercy', group: 'Reloading and recycling',
    help: 'How long a reloading worker\'s background greenlets may run after its requests finished before they get GreenletExit.' },
  { name: 'max-requests', short: 'R', key: 'maxRequests', kind: 'number', default: 0, placeholder: 'N', parse: int(0), mirrors: 'max-requests', group: 'Reloading and recycling',
    help: 'Recycle a worker gracefully after N requests (0: never).' },
  { name: 'max-requests-delta', key: 'maxRequestsDelta', kind: 'number', default: 0, placeholder: 'N', parse: int(0), mirrors: 'max-requests-delta', group: 'Reloading and recycling',
    help: 'Add (worker id - 1) * N to --max-requests, so workers do not all recycle at once.' },
  { name: 'reload-on-rss', key: 'reloadOnRss', kind: 'number', default: 0, placeholder: 'MB', parse: int(0), mirrors: 'reload-on-rss', group: 'Reloading and recycling',
    help: 'Recycle a worker gracefully when its resident memory exceeds MB megabytes, checked after each request (0: never).' },
  { name: 'touch-reload', key: 'touchReload', kind: 'list', placeholder: 'FILE', impliesMaster: true, mirrors: 'touch-reload', group: 'Reloading and recycling',
    help: 'Gracefully reload everything when FILE is modified or touched. Repeatable.' },
  { name: 'touch-workers-reload', key: 'touchWorkersReload', kind: 'list', placeholder: 'FILE', impliesMaster: true, mirrors: 'touch-workers-reload', group: 'Reloading and recycling',
    help: 'Gracefully reload only the workers when FILE is modified or touched. Repeatable.' },
  { name: 'gevent-wait-for-hub', key: 'geventWaitForHub', kind: 'boolean', mirrors: 'gevent-wait-for-hub', group: 'Reloading and recycling',
    help: 'At reload or shutdown, let a worker exit only when its hub has nothing left (every background greenlet done), bounded by --worker-reload-mercy.' },
  { name: 'gevent-kill-background-on-reload', key: 'geventKillBackgroundOnReload', kind: 'boolean', mirrors: null, group: 'Reloading and recycling',
    help: 'At reload, kill tracked background greenlets (GreenletExit, finally blocks run) as soon as the requests finished, instead of granting them --worker-reload-mercy.' },

  // Harakiri
  { name: 'harakiri', short: 't', key: 'harakiri', kind: 'number', default: 0, placeholder: 'SECONDS', parse: seconds(0), mirrors: 'harakiri', group: 'Harakiri',
    help: 'Cancel any request running longer than SECONDS (504 if no header was sent); a worker whose loop is blocked that long is killed and respawned. 0: off.' },
  { name: 'harakiri-verbose', key: 'harakiriVerbose', kind: 'boolean', mirrors: 'harakiri-verbose', group: 'Harakiri',
    help: 'Log what the cancelled greenlet was waiting on.' },

  // Stats
  { name: 'stats', aliases: ['stats-server'], key: 'stats', kind: 'string', placeholder: 'ADDR', parse: address, impliesMaster: true, mirrors: 'stats', group: 'Stats',
    help: 'Serve uWSGI\'s stats JSON (one document per connection; what uwsgitop reads) on ADDR, TCP or unix.' },
  { name: 'stats-http', key: 'statsHttp', kind: 'boolean', impliesMaster: true, mirrors: 'stats-http', group: 'Stats',
    help: 'Serve the stats as an HTTP response instead of a raw JSON stream.' },
  { name: 'stats-prometheus', key: 'statsPrometheus', kind: 'string', placeholder: 'ADDR', parse: address, impliesMaster: true, mirrors: null, group: 'Stats',
    help: 'Serve the same figures in the Prometheus text format over HTTP on ADDR.' },

  // Signals
  { name: 'signal', key: 'signal', kind: 'string', placeholder: 'ADDR,NUM', parse: (raw, name) => parseSignalTarget(name, raw), mirrors: 'signal', group: 'Signals',
    help: 'Client mode: send uWSGI signal NUM to the instance whose uwsgi socket is ADDR, print the result and exit (0 delivered, 1 not delivered, 2 rejected, 3 invalid number).' },
  { name: 'signal-timer', aliases: ['timer'], key: 'signalTimer', kind: 'list', placeholder: '"NUM SECONDS"', parse: (raw, name) => parseSignalTimer(name, raw), impliesMaster: true, mirrors: 'signal-timer', group: 'Signals',
    help: 'Raise signal NUM every SECONDS. Repeatable.' },
  { name: 'signal-rbtimer', aliases: ['rbtimer'], key: 'signalRbtimer', kind: 'list', placeholder: '"NUM SECONDS"', parse: (raw, name) => parseSignalTimer(name, raw), impliesMaster: true, mirrors: 'signal-rbtimer', group: 'Signals',
    help: 'Same as --signal-timer (uWSGI\'s red-black-tree timer; one timer implementation serves both here). Repeatable.' },
  { name: 'touch-signal', key: 'touchSignal', kind: 'list', placeholder: '"FILE NUM"', parse: (raw, name) => parseTouchSignal(name, raw), impliesMaster: true, mirrors: 'touch-signal', group: 'Signals',
    help: 'Raise signal NUM when FILE is modified or touched. Repeatable.' },
  { name: 'signal-allow', key: 'signalAllow', kind: 'list', placeholder: 'IP[/BITS]', default: ['127.0.0.0/8', '::1'], parse: (raw, name) => parseAllowEntry(name, raw), mirrors: null, group: 'Signals',
    help: 'Peers allowed to raise signals over a uwsgi socket (modifier1 110). Giving it replaces the default (loopback). Repeatable.' },
  { name: 'signal-queue-policy', key: 'signalQueuePolicy', kind: 'enum', default: 'drop', placeholder: 'POLICY', choices: ['drop', 'block'], mirrors: null, group: 'Signals',
    help: 'When a worker\'s signal queue is full: `drop` the signal and report it (a remote sender gets "rejected", as in uWSGI), or `block` the sender until there is room.' },

  // Logging
  { name: 'disable-logging', short: 'L', key: 'disableLogging', kind: 'boolean', mirrors: 'disable-logging', group: 'Logging',
    help: 'Do not write request log lines (--log-4xx and --log-5xx still apply).' },
  { name: 'logformat', key: 'logformat', kind: 'string', placeholder: 'FORMAT', mirrors: 'logformat', group: 'Logging',
    help: 'Request log line with uWSGI\'s %(var) names: %(addr) %(method) %(uri) %(status) %(msecs) %(core) %(var.HTTP_HOST) ...' },
  { name: 'logto', key: 'logto', kind: 'string', placeholder: 'FILE', parse: (raw, name) => parseLogFile(name, raw), mirrors: 'logto', group: 'Logging',
    help: 'Append the log to FILE instead of stderr (uWSGI\'s UDP form, host:port, is not supported).' },
  { name: 'log-micros', key: 'logMicros', kind: 'boolean', mirrors: 'log-micros', group: 'Logging',
    help: 'Report the response time in microseconds instead of milliseconds in the default log line.' },
  { name: 'log-4xx', key: 'log4xx', kind: 'boolean', mirrors: 'log-4xx', group: 'Logging',
    help: 'Log requests answered with a 4xx status even with --disable-logging.' },
  { name: 'log-5xx', key: 'log5xx', kind: 'boolean', mirrors: 'log-5xx', group: 'Logging',
    help: 'Log requests answered with a 5xx status even with --disable-logging.' },

  // HTTP router
  { name: 'http', key: 'http', kind: 'list', placeholder: 'ADDR', parse: address, mirrors: 'http', group: 'HTTP router (--http)',
    help: 'Start a front HTTP router (tsgi-edge) on ADDR that proxies to the workers over uwsgi. Repeatable.' },
  { name: 'http-buffering', key: 'httpBuffering', kind: 'boolean', mirrors: null, group: 'HTTP router (--http)',
    help: 'Let the --http router buffer whole responses (nginx uwsgi_buffering on). Off: stream each chunk as the app yields it.' },
  { name: 'http-request-buffering', key: 'httpRequestBuffering', kind: 'boolean', mirrors: null, group: 'HTTP router (--http)',
    help: 'Let the --http router read the whole request body before passing the request on (nginx uwsgi_request_buffering on).' },

  // Configuration files
  { name: 'ini', key: 'ini', kind: 'list', placeholder: 'FILE[:SECTION]', loader: 'ini', mirrors: 'ini', group: 'Configuration files',
    help: 'Load options from the [uwsgi] section (or SECTION) of an ini file, at this point of the command line. Repeatable, also inside files.' },
  { name: 'json', short: 'j', aliases: ['js'], key: 'json', kind: 'list', placeholder: 'FILE[:KEY]', loader: 'json', mirrors: 'json', group: 'Configuration files',
    help: 'Load options from the "uwsgi" object (or KEY) of a JSON file. Repeatable.' },
  { name: 'yaml', short: 'y', aliases: ['yml'], key: 'yaml', kind: 'list', placeholder: 'FILE[:KEY]', loader: 'yaml', mirrors: 'yaml', group: 'Configuration files',
    help: 'Load options from the uwsgi mapping (or KEY) of a YAML file. Repeatable.' },
  { name: 'include', key: 'include', kind: 'list', placeholder: 'FILE', loader: 'include', mirrors: 'include', group: 'Configuration files',
    help: 'Load a config file, its format chosen by extension (.ini, .json/.js, .yaml/.yml). Repeatable.' },
  { name: 'set-placeholder', aliases: ['set-ph'], key: 'setPlaceholder', kind: 'list', placeholder: 'KEY=VALUE', loader: 'placeholder', mirrors: 'set-placeholder', group: 'Configuration files',
    help: 'Define a placeholder for %(KEY) expansion without it being an option. Repeatable.' },

  // Accepted and ignored
  { name: 'plugins', aliases: ['plugin', 'need-plugin', 'need-plugins'], key: 'plugins', kind: 'list', placeholder: 'LIST', mirrors: 'plugins', group: 'Accepted and ignored',
    ignoredNote: 'tsgi has no plugins (the gevent loop engine, the uwsgi protocol and signals are built in)',
    help: 'Ignored with a note, so uWSGI command lines (`--plugins python3,gevent_python3`) work unchanged.' },
  { name: 'lazy-apps', aliases: ['lazy'], key: 'lazyApps', kind: 'boolean', mirrors: 'lazy-apps', group: 'Accepted and ignored',
    ignoredNote: 'tsgi always loads the app in each worker (workers are separate Node processes, nothing is forked after loading)',
    help: 'Ignored with a note: tsgi always loads the app in each worker.' },
  { name: 'die-on-term', key: 'dieOnTerm', kind: 'boolean', mirrors: 'die-on-term', group: 'Accepted and ignored',
    ignoredNote: 'SIGTERM always shuts tsgi down, as in uWSGI 2.1',
    help: 'Ignored with a note: SIGTERM always shuts tsgi down (uWSGI 2.1 semantics).' },

  // General
  { name: 'help', short: 'h', aliases: ['usage'], key: 'help', kind: 'boolean', mirrors: 'help', group: 'General',
    help: 'Print this help and exit.' },
  { name: 'version', key: 'version', kind: 'boolean', mirrors: 'version', group: 'General',
    help: 'Print the tsgi version and exit.' },
];

function build(d: Def): OptionSpec {
  const value = defaultFor(d);
  return {
    name: d.name,
    key: d.key,
    kind: d.kind,
    short: d.short ?? null,
    aliases: d.aliases ?? [],
    default: value,
    defaultText: d.defaultText ?? (d.kind === 'boolean' ? (value ? 'on' : 'off') : describeDefault(value)),
    placeholder: d.kind === 'boolean' ? null : (d.placeholder ?? 'VALUE'),
    help: d.help,
    mirrors: d.mirrors,
    group: d.group,
    choices: d.choices ?? null,
    parse: parserFor(d),
    ignoredNote: d.ignoredNote ?? null,
    impliesMaster: d.impliesMaster ?? false,
    loader: d.loader ?? null,
  };
}

/** Every flag of tsgi, in --help order. */
export const OPTION_TABLE: readonly OptionSpec[] = Object.freeze(defs.map(build));

const byName = new Map<string, OptionSpec>();
const byShort = new Map<string, OptionSpec>();
for (const spec of OPTION_TABLE) {
  for (const name of [spec.name, ...spec.aliases]) {
    if (byName.has(name)) throw new Error(`option table: ${name} is defined twice`);
    byName.set(name, spec);
  }
  if (spec.short !== null) {
    if (byShort.has(spec.short)) throw new Error(`option table: -${spec.short} is defined twice`);
    byShort.set(spec.short, spec);
  }
}

/** The option a long name or alias stands for (`workers` → processes), or undefined. */
export function findOption(name: string): OptionSpec | undefined {
  return byName.get(name);
}

/** The option a one-letter flag stands for (`s` → socket), or undefined. */
export function findShortOption(letter: string): OptionSpec | undefined {
  return byShort.get(letter);
}

/** Every long name and alias, for suggestions. */
export function allOptionNames(): string[] {
  return [...byName.keys()];
}

/** The resolved options when nothing is given: every option's default. Lists are fresh arrays. */
export function defaultOptions(): TsgiOptions {
  const out: Record<string, unknown> = {};
  for (const spec of OPTION_TABLE) {
    if (spec.key in out) continue;
    out[spec.key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  // Derived, not a flag: --socket and --http-socket together, in the order given.
  out.listeners = [];
  return out as unknown as TsgiOptions;
}
