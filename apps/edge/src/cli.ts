import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as channels from './channels.js';
import { loadConfigFile, normalizeConfig, type EdgeConfig } from './config.js';
import { EdgeServer } from './edge-server.js';
import { EdgeConfigError } from './errors.js';
import { OPTIONS, OPTION_BY_KEY, optionsMarkdown } from './option-table.js';

const TARGETS = ['uwsgi_pass', 'proxy_pass', 'static'];

export interface ParsedArgs {
  readonly configFile: string | null;
  /** Flag values by option key, as strings (validated later by the config loader). */
  readonly values: Record<string, string>;
  readonly help: boolean;
  readonly version: boolean;
  readonly testConfig: boolean;
  /** `--help-markdown`: print the option tables as Markdown (for the README). */
  readonly markdown: boolean;
}

/** Parses `--key value` / `--key=value` flags; every option of the table is a flag (`_` → `-`). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const values: Record<string, string> = {};
  let configFile: string | null = null;
  let help = false;
  let version = false;
  let testConfig = false;
  let markdown = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--version' || arg === '-v') {
      version = true;
      continue;
    }
    if (arg === '--help-markdown') {
      markdown = true;
      continue;
    }
    if (arg === '--test-config' || arg === '-t') {
      testConfig = true;
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new EdgeConfigError(arg, 'unexpected argument; flags look like --listen :8080 (see --help)');
    const key = m[1].replace(/-/g, '_');
    if (key !== 'config' && !OPTION_BY_KEY.has(key)) throw new EdgeConfigError(`--${m[1]}`, 'unknown flag (see --help)');
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new EdgeConfigError(`--${m[1]}`, 'needs a value');
    }
    if (key === 'config') configFile = value;
    else values[key] = value;
  }
  return { configFile, values, help, version, testConfig, markdown };
}

/** Flags and the config file combined: flags override the file's top level; a pass flag adds a location. */
export async function buildConfig(args: ParsedArgs): Promise<EdgeConfig> {
  const raw: Record<string, unknown> = args.configFile ? await loadConfigFile(args.configFile) : {};
  const location: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args.values)) {
    if (TARGETS.includes(key) || key === 'prefix') location[key] = value;
    else raw[key] = value;
  }
  const targets = TARGETS.filter((t) => location[t] !== undefined);
  if (targets.length > 1) throw new EdgeConfigError(`--${targets[1].replace(/_/g, '-')}`, `cannot be combined with --${targets[0].replace(/_/g, '-')}; use a config file for several locations`);
  if (targets.length === 1) {
    raw.locations = [...((raw.locations as unknown[] | undefined) ?? []), location];
  } else if (location.prefix !== undefined) {
    throw new EdgeConfigError('--prefix', 'needs --uwsgi-pass, --proxy-pass or --static');
  }
  if (raw.locations === undefined) throw new EdgeConfigError('--uwsgi-pass', 'nothing to serve: give --uwsgi-pass HOST:PORT, --proxy-pass http://HOST:PORT, --static DIR or --config FILE');
  return normalizeConfig(raw, args.configFile ? dirname(resolve(args.configFile)) : process.cwd());
}

export function helpText(): string {
  const lines = [
    'usage: tsgi-edge --listen :8080 --uwsgi-pass 127.0.0.1:3031 [--buffering on|off] [--config file.yaml] [flags]',
    '',
    'A reverse proxy with nginx semantics for tsgi and uWSGI apps (uwsgi_pass, proxy_pass, static files).',
    '',
    '  --config FILE        JSON (.json) or YAML config: listen, locations[], upstreams{} and any option below',
    '  -t, --test-config    check the configuration and exit (as nginx -t)',
    '  -h, --help           this text',
    '  -v, --version        print the version',
    '',
  ];
  for (const o of OPTIONS) {
    const def = o.default === null ? '' : ` (default ${Array.isArray(o.default) ? o.default.join(' ') || 'none' : typeof o.default === 'boolean' ? (o.default ? 'on' : 'off') : o.default})`;
    lines.push(`  --${o.key.replace(/_/g, '-').padEnd(26)} ${o.help}${def} [nginx: ${o.nginx}]`);
  }
  lines.push('', 'Signals: SIGTERM/SIGQUIT/SIGINT finish in-flight responses and exit 0; SIGHUP reloads the config file.');
  return lines.join('\n') + '\n';
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/**
 * The `tsgi-edge` command. Resolves with the exit code: 0 after a clean shutdown, 1 for bad flags or config
 * (the message names the flag or key), 2 when the listen address cannot be bound.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  let config: EdgeConfig;
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(helpText());
      return 0;
    }
    if (args.markdown) {
      process.stdout.write(`${optionsMarkdown('server')}\n\n${optionsMarkdown('location')}\n`);
      return 0;
    }
    if (args.version) {
      process.stdout.write(`tsgi-edge ${version()}\n`);
      return 0;
    }
    config = await buildConfig(args);
  } catch (err) {
    if (err instanceof EdgeConfigError) {
      process.stderr.write(`tsgi-edge: [emerg] ${err.message} (${err.code})\n`);
      return 1;
    }
    throw err;
  }
  if (args.testConfig) {
    process.stdout.write('tsgi-edge: the configuration is ok\n');
    return 0;
  }

  const edge = new EdgeServer(config);
  try {
    await edge.listen();
  } catch (err) {
    process.stderr.write(`tsgi-edge: [emerg] bind() to ${argv.join(' ')} failed: ${(err as Error).message} (TSGI_ERR_EDGE_LISTEN)\n`);
    return 2;
  }
  process.stdout.write(`tsgi-edge listening on ${edge.url}\n`);

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal means "now": in-flight responses are cut.
        void edge.close(false);
        return;
      }
      stopping = true;
      edge.logError('notice', `signal ${signal} received, finishing ${edge.inflight} in-flight request(s)`);
      void edge.close(true).then(() => {
        for (const s of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'] as const) process.removeAllListeners(s);
        resolveExit(0);
      });
    };
    const reload = () => {
      buildConfig(args)
        .then((next) => edge.reload(next))
        .catch((err: Error) => {
          edge.logError('error', `reload failed, keeping the running configuration: ${err.message}`);
          if (channels.reload.hasSubscribers) channels.reload.publish({ ok: false, error: err });
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGQUIT', stop);
    process.on('SIGHUP', reload);
  });
}
