import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadOptionValueError,
  ConflictingOptionsError,
  ThreadsWithGeventError,
  UnknownOptionError,
} from './errors.js';
import { OPTION_TABLE, defaultOptions, findOption } from './option-table.js';
import { parseCommandLine, suggestOption } from './parse-command-line.js';

const env = {};
const parse = (...argv: string[]) => parseCommandLine(argv, { env, cwd: '/' });

describe('parseCommandLine: flag kinds', () => {
  it('gives every default when nothing is passed', () => {
    const { options, notes, mode } = parse();
    assert.deepEqual(options, defaultOptions());
    assert.equal(mode, 'serve');
    assert.deepEqual(notes, []);
    assert.equal(options.bufferSize, 4096);
    assert.equal(options.listen, 100);
    assert.equal(options.socketTimeout, 30);
    assert.equal(options.workerReloadMercy, 60);
    assert.equal(options.callable, 'application');
    assert.deepEqual(options.signalAllow, ['127.0.0.0/8', '::1']);
    assert.equal(options.signalQueuePolicy, 'drop');
  });

  it('reads numbers, sizes, strings, enums and booleans', () => {
    const { options } = parse(
      '--gevent', '100', '--buffer-size', '32k', '--module', 'app.ts:handler', '--app-type', 'fetch',
      '--master', '--harakiri', '0.5', '--limit-post', '1m', '--signal-queue-policy', 'block',
    );
    assert.equal(options.gevent, 100);
    assert.equal(options.bufferSize, 32768);
    assert.equal(options.module, 'app.ts:handler');
    assert.equal(options.appType, 'fetch');
    assert.equal(options.master, true);
    assert.equal(options.harakiri, 0.5);
    assert.equal(options.limitPost, 1024 * 1024);
    assert.equal(options.signalQueuePolicy, 'block');
  });

  it('accepts --flag=value and --bool=false (uWSGI truth words)', () => {
    assert.equal(parse('--gevent=7').options.gevent, 7);
    assert.equal(parse('--master=false').options.master, false);
    assert.equal(parse('--master=OFF').options.master, false);
    assert.equal(parse('--master=yes').options.master, true);
    assert.equal(parse('--need-app=0').options.needApp, false);
    assert.throws(() => parse('--master=flase'), (e: unknown) => e instanceof BadOptionValueError && /boolean/.test(e.message));
  });

  it('takes the next argument as the value even when it starts with a dash', () => {
    assert.equal(parse('--logformat', '-%(uri)').options.logformat, '-%(uri)');
  });

  it('lets the later value win for scalars and accumulates lists in order', () => {
    const { options } = parse('--gevent', '10', '-s', ':3031', '--gevent', '20', '--socket', '127.0.0.1:3032', '--uwsgi-socket', '/tmp/x.sock');
    assert.equal(options.gevent, 20);
    assert.deepEqual(options.socket, [':3031', '127.0.0.1:3032', '/tmp/x.sock']);
  });

  it('replaces a list default on the first value given', () => {
    assert.deepEqual(parse('--signal-allow', '10.0.0.0/8', '--signal-allow', '::1').options.signalAllow, ['10.0.0.0/8', '::1']);
  });

  it('parses the typed list items: env, signal timers, touch signals', () => {
    const { options } = parse(
      '--env', 'A=1', '--env', 'B=x=y', '--env', 'EMPTY=',
      '--signal-timer', '17 2', '--timer', '18 0.5', '--signal-rbtimer', '3 10',
      '--touch-signal', '/tmp/some file 9',
    );
    assert.deepEqual(options.env, [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }, { name: 'EMPTY', value: '' }]);
    assert.deepEqual(options.signalTimer, [{ signum: 17, seconds: 2 }, { signum: 18, seconds: 0.5 }]);
    assert.deepEqual(options.signalRbtimer, [{ signum: 3, seconds: 10 }]);
    assert.deepEqual(options.touchSignal, [{ file: '/tmp/some file', signum: 9 }]);
  });

  it('collects --worker-node-arg flags in order, values written with =', () => {
    const { options } = parse('--worker-node-arg', '--max-semi-space-size=2', '--worker-node-arg=--heap-growing-percent=50', '--worker-node-arg', '--expose-gc');
    assert.deepEqual(options.workerNodeArg, ['--max-semi-space-size=2', '--heap-growing-percent=50', '--expose-gc']);
    assert.deepEqual(parse().options.workerNodeArg, []);
  });
});

describe('parseCommandLine: names', () => {
  it('maps aliases to one option', () => {
    assert.equal(parse('--workers', '3').options.processes, 3);
    assert.equal(parse('--wsgi-file', 'app.js').options.module, 'app.js');
    assert.equal(parse('--wsgi', 'app.js').options.module, 'app.js');
    assert.deepEqual(parse('--plugin', 'python3').options.plugins, ['python3']);
    assert.equal(parse('--usage').mode, 'help');
  });

  it('reads --async N (with --loop gevent) as --gevent N', () => {
    const a = parse('--async', '50', '--loop', 'gevent');
    const b = parse('--gevent', '50');
    assert.deepEqual(a.options, b.options);
    assert.deepEqual(a.notes, []);
    const alone = parse('--async', '5');
    assert.equal(alone.options.gevent, 5);
    assert.match(alone.notes.join('\n'), /--async 5: tsgi's only loop engine is gevent/);
    assert.throws(() => parse('--loop', 'asyncio'), (e: unknown) => e instanceof BadOptionValueError && /one of gevent/.test(e.message));
  });

  it('reads short flags the getopt way', () => {
    const { options } = parse('-s', ':3031', '-w', 'app', '-p4', '-M', '-b', '8192', '-t', '30', '-L', '-l', '512', '-z', '60', '-R', '1000');
    assert.deepEqual(options.socket, [':3031']);
    assert.equal(options.module, 'app');
    assert.equal(options.processes, 4);
    assert.equal(options.master, true);
    assert.equal(options.bufferSize, 8192);
    assert.equal(options.harakiri, 30);
    assert.equal(options.disableLogging, true);
    assert.equal(options.listen, 512);
    assert.equal(options.socketTimeout, 60);
    assert.equal(options.maxRequests, 1000);
  });

  it('groups short booleans and lets the last letter take a value', () => {
    const { options } = parse('-MLp', '2', '-s:3031');
    assert.equal(options.master, true);
    assert.equal(options.disableLogging, true);
    assert.equal(options.processes, 2);
    assert.deepEqual(options.socket, [':3031']);
  });

  it('refuses an unknown flag with a suggestion', () => {
    assert.throws(() => parse('--gevnt', '100'), (e: unknown) => {
      assert.ok(e instanceof UnknownOptionError);
      assert.equal(e.code, 'TSGI_ERR_UNKNOWN_OPTION');
      assert.equal(e.message, 'unknown option --gevnt; did you mean --gevent?');
      return true;
    });
    assert.throws(() => parse('--procesess', '2'), /did you mean --processes\?/);
    assert.throws(() => parse('--pythonpath', '.'), (e: unknown) => e instanceof UnknownOptionError && e.suggestion === null);
    assert.throws(() => parse('-Q', 'x'), (e: unknown) => e instanceof UnknownOptionError && /-Q/.test(e.message));
  });

  it('suggests nothing for names far from every option', () => {
    assert.equal(suggestOption('zzzzzzzzzzzz'), null);
    assert.equal(suggestOption('harakri'), 'harakiri');
  });

  it('refuses stray arguments that are not config files', () => {
    assert.throws(() => parse('app.ts'), (e: unknown) => e instanceof BadOptionValueError && /config file/.test(e.message));
  });
});

describe('parseCommandLine: values', () => {
  const bad = (argv: string[], pattern: RegExp) =>
    assert.throws(() => parse(...argv), (e: unknown) => {
      assert.ok(e instanceof BadOptionValueError, String(e));
      assert.equal(e.code, 'TSGI_ERR_BAD_OPTION_VALUE');
      assert.match(e.message, pattern);
      return true;
    });

  it('validates numbers and their ranges', () => {
    bad(['--gevent', '0'], /--gevent: "0"; expected an integer >= 1/);
    bad(['--gevent', 'many'], /--gevent: "many"/);
    bad(['--gevent', '1.5'], /an integer/);
    bad(['--processes', '-1'], /--processes/);
    bad(['--buffer-size', '65536'], /from 1 to 65535/);
    bad(['--harakiri', 'soon'], /expected a number >= 0/);
    bad(['--listen', '0'], /--listen/);
    assert.equal(parse('--buffer-size', '65535').options.bufferSize, 65535);
  });

  it('validates socket addresses', () => {
    for (const ok of [':3031', '127.0.0.1:3031', '[::1]:3031', '/tmp/app.sock', '0.0.0.0:0', 'localhost:8000']) {
      assert.deepEqual(parse('--socket', ok).options.socket, [ok]);
    }
    bad(['--socket', '127.0.0.1:99999'], /--socket: "127.0.0.1:99999"; expected an address/);
    bad(['--http-socket', 'example.com:80'], /numeric IP/);
    bad(['--stats', ':abc'], /--stats/);
    bad(['--socket', ''], /--socket/);
  });

  it('refuses a missing value at the end of the line', () => {
    bad(['--module'], /no value; expected MODULE after --module/);
  });

  it('validates list items', () => {
    bad(['--env', 'NOVALUE'], /KEY=VALUE/);
    bad(['--signal-timer', '17'], /NUM SECONDS/);
    bad(['--signal-timer', '300 1'], /0 to 255/);
    bad(['--signal-allow', 'localhost'], /IP address or CIDR/);
    bad(['--signal-allow', '10.0.0.0/33'], /IP address or CIDR/);
    bad(['--app-type', 'express'], /one of tsgi, node, fetch/);
    bad(['--worker-node-arg', 'max-semi-space-size=2'], /one Node or V8 flag/);
    bad(['--worker-node-arg', '--max-semi-space-size 2'], /written with =/);
    bad(['--logto', '127.0.0.1:514'], /UDP/);
    assert.equal(parse('--logto', './127.0.0.1:514').options.logto, './127.0.0.1:514');
  });
});

describe('parseCommandLine: modes and cross-checks', () => {
  it('refuses --threads with the gevent engine, explaining why', () => {
    assert.throws(() => parse('--gevent', '100', '--threads', '4'), (e: unknown) => {
      assert.ok(e instanceof ThreadsWithGeventError);
      assert.equal(e.code, 'TSGI_ERR_THREADS_WITH_GEVENT');
      assert.match(e.message, /#858/);
      assert.match(e.message, /--processes/);
      return true;
    });
    assert.throws(() => parse('--threads', '2'), ThreadsWithGeventError);
    assert.equal(parse('--gevent', '10', '--threads', '1').options.threads, 1);
  });

  it('refuses waiting for the hub and killing background greenlets at once', () => {
    assert.throws(() => parse('--gevent-wait-for-hub', '--gevent-kill-background-on-reload'), ConflictingOptionsError);
  });

  it('picks the mode', () => {
    assert.equal(parse('--help').mode, 'help');
    assert.equal(parse('-h').mode, 'help');
    assert.equal(parse('--version').mode, 'version');
    const signal = parse('--signal', '127.0.0.1:3031,17');
    assert.equal(signal.mode, 'signal-client');
    assert.deepEqual(signal.options.signal, { address: '127.0.0.1:3031', signum: 17 });
  });

  it('gives uWSGI\'s exit codes for bad --signal values', () => {
    assert.throws(() => parse('--signal', '127.0.0.1:3031'), (e: unknown) => {
      assert.ok(e instanceof BadOptionValueError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /invalid syntax for signal, must be addr,signal/);
      return true;
    });
    assert.throws(() => parse('--signal', '127.0.0.1:3031,256'), (e: unknown) => {
      assert.ok(e instanceof BadOptionValueError);
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /invalid signal number/);
      return true;
    });
  });

  it('notes the flags it ignores, with the value given', () => {
    const { notes, options } = parse('--plugins', 'python3,gevent_python3', '--lazy-apps', '--die-on-term');
    assert.deepEqual(options.plugins, ['python3,gevent_python3']);
    assert.equal(notes.length, 3);
    assert.match(notes[0], /^--plugins python3,gevent_python3 ignored: tsgi has no plugins/);
    assert.match(notes[1], /^--lazy-apps ignored: tsgi always loads the app in each worker/);
    assert.match(notes[2], /^--die-on-term ignored/);
  });

  it('turns the master on for options that need it, and says so', () => {
    const { options, notes } = parse('--stats', '127.0.0.1:1717');
    assert.equal(options.master, true);
    assert.deepEqual(notes, ['--stats needs the master process: --master enabled']);
    assert.deepEqual(parse('--stats', '127.0.0.1:1717', '--master').notes, []);
  });

  it('repeats uWSGI\'s warning for a socket-timeout under 30 seconds', () => {
    assert.match(parse('--socket-timeout', '4').notes.join(''), /socket-timeout lower than 30 seconds is not recommended/);
    assert.deepEqual(parse('--socket-timeout', '30').notes, []);
  });

  it('expands $(ENV) on the command line too', () => {
    const r = parseCommandLine(['--socket', '127.0.0.1:$(PORT)', '--chdir', '$(APPDIR:-/srv)'], { env: { PORT: '4000' }, cwd: '/' });
    assert.deepEqual(r.options.socket, ['127.0.0.1:4000']);
    assert.equal(r.options.chdir, '/srv');
    assert.throws(() => parseCommandLine(['--chdir', '$(NOPE)'], { env: {}, cwd: '/' }), /environment variable NOPE is not set/);
  });
});

describe('option table', () => {
  it('describes every option with help, a group and a key the resolved options have', () => {
    const defaults = defaultOptions() as unknown as Record<string, unknown>;
    for (const spec of OPTION_TABLE) {
      assert.ok(spec.help.length > 10, spec.name);
      assert.ok(spec.key in defaults, spec.name);
      assert.ok(/^[a-z0-9-]+$/.test(spec.name), spec.name);
      assert.equal(findOption(spec.name), spec);
    }
    // `listeners` is derived (every --socket and --http-socket in order), not a flag of its own.
    const keys = new Set([...OPTION_TABLE.map((s) => s.key), 'listeners']);
    assert.deepEqual(Object.keys(defaults).sort(), [...keys].sort());
  });

  it('has every flag the issues name', () => {
    const required = `socket http-socket http gevent async loop module callable wsgi-file app-type buffer-size socket-timeout listen
      limit-post post-buffering disable-logging logformat logto threads enable-threads plugins plugin master processes workers
      die-on-term master-fifo worker-reload-mercy max-requests max-requests-delta reload-on-rss touch-reload touch-workers-reload
      pidfile vacuum chdir env uid gid need-app harakiri harakiri-verbose stats stats-http stats-prometheus ini json yaml
      gevent-monkey-patch gevent-early-monkey-patch gevent-wait-for-hub gevent-kill-background-on-reload signal signal-timer
      signal-rbtimer touch-signal signal-allow signal-queue-policy disable-write-exception catch-exceptions http-buffering
      http-request-buffering help version`.split(/\s+/);
    for (const name of required) assert.ok(findOption(name), name);
  });

  it('uses uWSGI\'s short letters', () => {
    const shorts = Object.fromEntries(OPTION_TABLE.filter((s) => s.short !== null).map((s) => [s.short, s.name]));
    assert.deepEqual(
      { s: shorts.s, w: shorts.w, p: shorts.p, M: shorts.M, b: shorts.b, t: shorts.t, L: shorts.L, l: shorts.l, z: shorts.z, R: shorts.R, h: shorts.h },
      { s: 'socket', w: 'module', p: 'processes', M: 'master', b: 'buffer-size', t: 'harakiri', L: 'disable-logging', l: 'listen', z: 'socket-timeout', R: 'max-requests', h: 'help' },
    );
  });
});

describe('listeners', () => {
  it('keeps --socket and --http-socket in the order given, as uWSGI numbers sockets', () => {
    const { options } = parseCommandLine(['--http-socket', ':8000', '--socket', '/tmp/a.sock', '--http-socket', '127.0.0.1:0']);
    assert.deepEqual(options.listeners, [
      { protocol: 'http', address: ':8000' },
      { protocol: 'uwsgi', address: '/tmp/a.sock' },
      { protocol: 'http', address: '127.0.0.1:0' },
    ]);
  });
});
