import {
  MAX_INCLUDE_DEPTH,
  formatOfSpec,
  readConfigFile,
  type ConfigFormat,
  type LoadContext,
  type RawSetting,
} from './config-files.js';
import {
  BadOptionValueError,
  ConfigError,
  ConflictingOptionsError,
  OptionError,
  ThreadsWithGeventError,
  UnknownOptionError,
} from './errors.js';
import { allOptionNames, defaultOptions, findOption, findShortOption, type OptionSpec } from './option-table.js';
import type { ListenerSetting, TsgiOptions } from './options.js';

/** What the command line asks tsgi to do. */
export type RunMode = 'serve' | 'signal-client' | 'help' | 'version';

export interface ParseOptions {
  /** Used for `$(NAME)` expansion. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Config file paths are relative to it (as in uWSGI, not to the including file; use %d for that). Default: process.cwd(). */
  readonly cwd?: string;
}

export interface ParsedCommandLine {
  readonly options: TsgiOptions;
  /** Informational lines for the startup log (ignored flags, implied settings, uWSGI's warnings). */
  readonly notes: string[];
  readonly mode: RunMode;
}

interface Setting extends RawSetting {
  readonly spec: OptionSpec | null;
  /** Defined by --set-placeholder: a name for %(name) only. */
  readonly placeholder?: boolean;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The known option closest to `name`, if it is close enough to be a typo. */
export function suggestOption(name: string): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allOptionNames()) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(2, Math.floor(name.length / 4));
  if (best !== null && bestDistance <= tolerance) return best;
  const prefixed = allOptionNames().filter((n) => n.startsWith(name) && name.length >= 3);
  return prefixed.length === 1 ? prefixed[0] : null;
}

function unknown(name: string, display: string): UnknownOptionError {
  return new UnknownOptionError(name, suggestOption(name), display);
}

class Collector {
  readonly settings: Setting[] = [];
  constructor(readonly ctx: LoadContext) {}

  add(raw: RawSetting, spec: OptionSpec | null): void {
    this.settings.push({ ...raw, spec });
    if (spec?.loader && raw.value !== undefined) this.load(spec.loader, raw);
  }

  private load(loader: NonNullable<OptionSpec['loader']>, raw: RawSetting): void {
    const value = raw.value as string;
    if (loader === 'placeholder') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw wrap(new BadOptionValueError(raw.name, value, 'KEY=VALUE'), raw);
      this.settings.push({ ...raw, name: value.slice(0, eq).trim(), value: value.slice(eq + 1), spec: null, placeholder: true });
      return;
    }
    let format: ConfigFormat | null = loader === 'include' ? null : loader;
    if (format === null) {
      format = formatOfSpec(value);
      if (format === null) {
        throw wrap(new BadOptionValueError(raw.name, value, 'a file ending in .ini, .json, .js, .yaml or .yml'), raw);
      }
    }
    if (this.ctx.depth >= MAX_INCLUDE_DEPTH) {
      throw new ConfigError(raw.file ?? value, raw.line, raw.name, `config files include each other more than ${MAX_INCLUDE_DEPTH} levels deep (an include loop?)`);
    }
    this.ctx.depth++;
    try {
      for (const child of readConfigFile(format, value, this.ctx)) this.add(child, findOption(child.name) ?? null);
    } finally {
      this.ctx.depth--;
    }
  }
}

/** Errors about a setting that came from a file are reported as ConfigError naming file, line and key. */
function wrap(error: unknown, setting: RawSetting): unknown {
  if (setting.file === null || !(error instanceof OptionError) || error instanceof ConfigError) return error;
  return new ConfigError(setting.file, setting.line, setting.name, error.message, { cause: error });
}

function tokenize(argv: readonly string[], collector: Collector): void {
  const cli = (name: string, value: string | undefined, display: string): RawSetting => ({ name, value, file: null, line: null, display });
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      const format = formatOfSpec(arg);
      if (format === null) {
        throw new BadOptionValueError('(argument)', arg, 'an option (--name) or a config file ending in .ini, .json, .yaml or .yml');
      }
      collector.add(cli(format, arg, arg), findOption(format) ?? null);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const display = `--${name}`;
      const spec = findOption(name);
      if (spec === undefined) throw unknown(name, display);
      let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
      if (value === undefined && spec.kind !== 'boolean') {
        if (i + 1 >= argv.length) throw new BadOptionValueError(name, undefined, `${spec.placeholder} after ${display}`);
        value = argv[++i];
      }
      collector.add(cli(name, value, display), spec);
      continue;
    }
    // short flags, getopt style: -s :3031, -s:3031, -ML (grouped booleans), -Mp 4
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j];
      const spec = findShortOption(letter);
      if (spec === undefined) throw new UnknownOptionError(letter, null, `-${letter}`);
      if (spec.kind === 'boolean') {
        collector.add(cli(spec.name, undefined, `-${letter}`), spec);
        continue;
      }
      let value: string | undefined = arg.slice(j + 1);
      if (value === '') {
        if (i + 1 >= argv.length) throw new BadOptionValueError(spec.name, undefined, `${spec.placeholder} after -${letter}`);
        value = argv[++i];
      }
      collector.add(cli(spec.name, value, `-${letter}`), spec);
      break;
    }
  }
}

/**
 * `$(NAME)`, `$(NAME:-default)` (default when unset or empty), `$(NAME-default)` (default when unset).
 * uWSGI leaves `$(NAME)` as written when NAME is unset; tsgi refuses it, since the literal text would
 * only fail later with a less clear message.
 */
function expandEnv(setting: Setting, env: Readonly<Record<string, string | undefined>>): void {
  if (setting.value === undefined || !setting.value.includes('$(')) return;
  setting.value = setting.value.replace(/\$\(([^()]*)\)/g, (_whole, expr: string) => {
    const m = /^([^:-]+)(?:(:-|-)(.*))?$/s.exec(expr);
    if (m === null) throw wrap(new BadOptionValueError(setting.name, setting.value, 'a $(NAME) reference with a variable name'), setting);
    const [, name, op, fallback] = m;
    const value = env[name];
    if (op === ':-' && (value === undefined || value === '')) return fallback;
    if (op === '-' && value === undefined) return fallback;
    if (value === undefined) {
      const problem = `environment variable ${name} is not set (referenced as $(${name}); give a default with $(${name}:-value))`;
      throw setting.file === null ? new BadOptionValueError(setting.name, setting.value, problem) : new ConfigError(setting.file, setting.line, setting.name, problem);
    }
    return value;
  });
}

/**
 * `%(name)` becomes the value of the first setting named `name` (an option as written, by its
 * canonical name too, or a placeholder). An unknown name stays as written, as in uWSGI: that is
 * what keeps `logformat = %(addr) %(uri)` intact.
 */
function expandPlaceholders(settings: Setting[]): Set<string> {
  const referenced = new Set<string>();
  const lookup = (name: string): Setting | undefined =>
    settings.find((s) => s.name === name) ?? settings.find((s) => s.spec !== null && s.spec.name === name);
  const resolving = new Set<Setting>();
  const expand = (setting: Setting): string | undefined => {
    if (setting.value === undefined || !setting.value.includes('%(')) return setting.value;
    if (resolving.has(setting)) {
      const problem = `placeholder loop: %(${setting.name}) refers back to itself`;
      throw setting.file === null ? new BadOptionValueError(setting.name, setting.value, problem) : new ConfigError(setting.file, setting.line, setting.name, problem);
    }
    resolving.add(setting);
    setting.value = setting.value.replace(/%\(([^()]*)\)/g, (whole, name: string) => {
      const target = lookup(name);
      if (target === undefined || target.value === undefined) return whole;
      referenced.add(name);
      return expand(target) ?? whole;
    });
    resolving.delete(setting);
    return setting.value;
  };
  for (const setting of settings) expand(setting);
  return referenced;
}

function sourceNote(setting: Setting): string {
  return setting.file === null ? setting.display : `${setting.name} (${setting.file}:${setting.line})`;
}

/**
 * Parses a tsgi (uWSGI-style) command line, loading the config files it names at the point they
 * appear. Later settings win for single values; lists accumulate in order.
 * Throws UnknownOptionError, BadOptionValueError, ThreadsWithGeventError, ConflictingOptionsError,
 * or ConfigError (for anything that came from a file).
 */
export function parseCommandLine(argv: readonly string[], opts: ParseOptions = {}): ParsedCommandLine {
  const ctx: LoadContext = { env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd(), firstMagic: null, lastFile: null, depth: 0 };
  const collector = new Collector(ctx);
  tokenize(argv, collector);
  const settings = collector.settings;

  for (const s of settings) expandEnv(s, ctx.env);
  const referenced = expandPlaceholders(settings);

  for (const s of settings) {
    if (s.spec === null && !s.placeholder && !referenced.has(s.name)) {
      // A key no option matches is a placeholder in uWSGI's files; unused, it is almost always a typo.
      throw new ConfigError(s.file ?? '(command line)', s.line, s.name, unknown(s.name, s.name).message, { cause: unknown(s.name, s.name) });
    }
  }

  const options = defaultOptions() as unknown as Record<string, unknown>;
  const lastSource = new Map<string, Setting>();
  const givenLists = new Set<string>();
  const notes: string[] = [];
  let impliedBy: Setting | null = null;
  const listeners: ListenerSetting[] = [];
  options.listeners = listeners;

  for (const s of settings) {
    const spec = s.spec;
    if (spec === null) continue;
    let parsed: unknown;
    try {
      parsed = spec.parse(s.value, s.name);
    } catch (error) {
      throw wrap(error, s);
    }
    if (spec.kind === 'list') {
      if (!givenLists.has(spec.key)) {
        givenLists.add(spec.key);
        options[spec.key] = [];
      }
      (options[spec.key] as unknown[]).push(parsed);
      if (spec.key === 'socket' || spec.key === 'httpSocket') {
        listeners.push({ protocol: spec.key === 'socket' ? 'uwsgi' : 'http', address: parsed as string });
      }
    } else {
      options[spec.key] = parsed;
    }
    lastSource.set(spec.key, s);
    if (spec.ignoredNote !== null) notes.push(`${sourceNote(s)}${s.value === undefined ? '' : ` ${s.value}`} ignored: ${spec.ignoredNote}`);
    if (spec.impliesMaster && impliedBy === null) impliedBy = s;
  }

  const o = options as unknown as TsgiOptions;
  const fail = (error: OptionError, key: keyof TsgiOptions): never => {
    const s = lastSource.get(key);
    throw s ? wrap(error, s) : error;
  };

  if (o.threads > 1) fail(new ThreadsWithGeventError(o.threads, o.gevent), 'threads');
  if (o.geventWaitForHub && o.geventKillBackgroundOnReload) {
    fail(
      new ConflictingOptionsError(
        ['gevent-wait-for-hub', 'gevent-kill-background-on-reload'],
        'the first waits for every background greenlet, the second kills them at once; choose one',
      ),
      'geventKillBackgroundOnReload',
    );
  }

  if (impliedBy !== null && !o.master) {
    o.master = true;
    notes.push(`${sourceNote(impliedBy)} needs the master process: --master enabled`);
  }
  const cores = lastSource.get('gevent');
  if (cores !== undefined && cores.spec?.name === 'async' && !lastSource.has('loop')) {
    notes.push(`${sourceNote(cores)} ${o.gevent}: tsgi's only loop engine is gevent, so this is --gevent ${o.gevent}`);
  }
  if (lastSource.has('socketTimeout') && o.socketTimeout < 30) {
    notes.push('!!! Running gevent with a socket-timeout lower than 30 seconds is not recommended, tune it with --socket-timeout !!!');
  }

  const mode: RunMode = o.help ? 'help' : o.version ? 'version' : o.signal !== null ? 'signal-client' : 'serve';
  return { options: o, notes, mode };
}
