import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BadOptionValueError, ConfigError, ThreadsWithGeventError, UnknownOptionError } from './errors.js';
import { parseCommandLine } from './parse-command-line.js';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const env = { APP_PORT: '9090', EMPTY: '' };
const parse = (...argv: string[]) => parseCommandLine(argv, { env, cwd: dir });

function configError(fn: () => unknown, expect: { file?: string; line?: number | null; key?: string | null; message?: RegExp; reason?: string }): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'TSGI_ERR_CONFIG');
    if (expect.file !== undefined) assert.equal(e.file, expect.file);
    if (expect.line !== undefined) assert.equal(e.line, expect.line);
    if (expect.key !== undefined) assert.equal(e.key, expect.key);
    if (expect.message) assert.match(e.message, expect.message);
    if (expect.reason) assert.equal(e.reason, expect.reason);
    return true;
  });
}

describe('ini, json and yaml files', () => {
  const cli = [
    '--socket', ':3031', '--socket', '127.0.0.1:3032', '--gevent', '100', '--master', '--processes', '4',
    '--module', 'app.ts', '--harakiri', '30', '--env', 'A=1', '--env', 'B=2', '--disable-logging', '--vacuum',
    '--signal-timer', '17 2', '--buffer-size', '8192', '--need-app=false',
  ];

  it('give the same options as the same settings on the command line', () => {
    const ini = file('same.ini', [
      '; a comment', '# another', '[other]', 'gevent = 1', '', '[uwsgi]',
      'socket = :3031', 'socket = 127.0.0.1:3032', 'gevent = 100', 'master = true', 'processes = 4', 'module = app.ts',
      'harakiri = 30', 'env = A=1', 'env = B=2', 'disable-logging', 'vacuum = on', 'signal-timer = 17 2', 'buffer-size = 8192',
      'need-app = false', '',
    ].join('\n'));
    const json = file('same.json', JSON.stringify({
      uwsgi: {
        socket: [':3031', '127.0.0.1:3032'], gevent: 100, master: true, processes: 4, module: 'app.ts', harakiri: 30,
        env: ['A=1', 'B=2'], 'disable-logging': true, vacuum: 'on', 'signal-timer': '17 2', 'buffer-size': 8192, 'need-app': false,
      },
    }, null, 2));
    const yaml = file('same.yaml', [
      'uwsgi:', '  socket:', '    - :3031', '    - 127.0.0.1:3032', '  gevent: 100', '  master: true', '  processes: 4',
      '  module: app.ts', '  harakiri: 30', '  env: A=1', '  env: B=2', '  disable-logging: yes', '  vacuum: on',
      '  signal-timer: 17 2', '  buffer-size: 8192', '  need-app: false', '',
    ].join('\n'));
    const expected = parse(...cli).options;
    assert.equal(expected.needApp, false);
    for (const [flag, path] of [['--ini', ini], ['--json', json], ['--yaml', yaml]]) {
      const got = parse(flag, path).options;
      assert.deepEqual({ ...got, ini: [], json: [], yaml: [] }, expected, `${flag} ${path}`);
    }
    assert.deepEqual(parse('--ini', ini).options.ini, [ini]);
    // A config file given as a bare argument is loaded by its extension, as `uwsgi app.ini` does.
    assert.deepEqual({ ...parse(yaml).options, yaml: [] }, expected);
  });

  it('reads booleans as uWSGI does', () => {
    const ini = file('bools.ini', '[uwsgi]\nmaster = false\nvacuum = OFF\nharakiri-verbose = no\nlazy-apps = 0\nlog-micros\ncatch-exceptions = Yes\n');
    const { options } = parse('--ini', ini);
    assert.equal(options.master, false);
    assert.equal(options.vacuum, false);
    assert.equal(options.harakiriVerbose, false);
    assert.equal(options.lazyApps, false);
    assert.equal(options.logMicros, true);
    assert.equal(options.catchExceptions, true);
  });

  it('merges files and flags in order: later scalars win, lists accumulate', () => {
    const ini = file('merge.ini', '[uwsgi]\ngevent = 20\nsocket = :4001\n');
    const { options } = parse('--gevent', '10', '--socket', ':4000', '--ini', ini, '--socket', ':4002');
    assert.equal(options.gevent, 20);
    assert.deepEqual(options.socket, [':4000', ':4001', ':4002']);
    assert.equal(parse('--ini', ini, '--gevent', '30').options.gevent, 30);
  });

  it('reads the section or key named after a colon', () => {
    const ini = file('sections.ini', '[uwsgi]\ngevent = 1\n[prod]\ngevent = 500\n');
    assert.equal(parse('--ini', `${ini}:prod`).options.gevent, 500);
    const json = file('keys.json', '{"uwsgi": {"gevent": 1}, "staging": {"gevent": 7}}');
    assert.equal(parse('--json', `${json}:staging`).options.gevent, 7);
    const yaml = file('keys.yml', 'uwsgi:\n  gevent: 1\nstaging:\n  gevent: 8\n');
    assert.equal(parse('--yaml', `${yaml}:staging`).options.gevent, 8);
    // `:section` alone means the file loaded last.
    assert.equal(parse('--ini', ini, '--ini', ':prod').options.gevent, 500);
  });

  it('expands the magic variables of the file', () => {
    const path = file('magic/app-conf.ini', '[uwsgi]\nchdir = %d\nmodule = %n.ts\npidfile = %p.pid\nlogto = %c/%s.%e-%v-%%-%h-%x-%q\n');
    const { options } = parse('--ini', path);
    assert.equal(options.chdir, join(dir, 'magic') + '/');
    assert.equal(options.module, 'app-conf.ts');
    assert.equal(options.pidfile, `${path}.pid`);
    assert.equal(options.logto, `magic/app-conf.ini.ini-${dir}-%-${hostname()}--%q`);
    assert.equal(parse('--ini', `${path}:uwsgi`).options.logto, `magic/app-conf.ini.ini-${dir}-%-${hostname()}-uwsgi-%q`);
  });

  it('expands $(ENV), with defaults', () => {
    const ini = file('env.ini', '[uwsgi]\nsocket = 127.0.0.1:$(APP_PORT)\nchdir = $(EMPTY:-/srv)\nlogformat = x$(EMPTY-/unused)y\nlogto = $(MISSING-/tmp/log)\n');
    const { options } = parse('--ini', ini);
    assert.deepEqual(options.socket, ['127.0.0.1:9090']);
    assert.equal(options.chdir, '/srv');
    assert.equal(options.logformat, 'xy');
    assert.equal(options.logto, '/tmp/log');
    const missing = file('env-missing.ini', '[uwsgi]\ngevent = 1\nchdir = $(NOT_SET)\n');
    configError(() => parse('--ini', missing), { file: missing, line: 3, key: 'chdir', message: /environment variable NOT_SET is not set/ });
  });

  it('expands %(name) from options and placeholders, and keeps logformat variables', () => {
    const ini = file('placeholders.ini', [
      '[uwsgi]', 'base = /srv/app', 'port = 4000', 'chdir = %(base)', 'socket = 127.0.0.1:%(port)', 'pidfile = %(chdir)/tsgi.pid',
      'logformat = %(addr) %(method) %(uri) %(status)', 'processes = 2', 'stats = 127.0.0.1:%(stats-port)',
      'set-placeholder = stats-port=1717', 'gevent = %(processes)0',
    ].join('\n'));
    const { options } = parse('--ini', ini);
    assert.equal(options.chdir, '/srv/app');
    assert.deepEqual(options.socket, ['127.0.0.1:4000']);
    assert.equal(options.pidfile, '/srv/app/tsgi.pid');
    assert.equal(options.logformat, '%(addr) %(method) %(uri) %(status)');
    assert.equal(options.stats, '127.0.0.1:1717');
    assert.equal(options.gevent, 20);
  });

  it('loads included files where they appear (one and two levels)', () => {
    const inner = file('inc/inner.yaml', 'uwsgi:\n  gevent: 50\n  socket: :5002\n');
    const middle = file('inc/middle.json', JSON.stringify({ uwsgi: { socket: ':5001', include: inner, processes: 3 } }));
    const top = file('inc/top.ini', `[uwsgi]\nsocket = :5000\nini = ${file('inc/base.ini', '[uwsgi]\nmaster = true\nharakiri = 5\n')}\njson = ${middle}\nharakiri = 9\n`);
    const { options } = parse('--ini', top);
    assert.deepEqual(options.socket, [':5000', ':5001', ':5002']);
    assert.equal(options.master, true);
    assert.equal(options.harakiri, 9);
    assert.equal(options.gevent, 50);
    assert.equal(options.processes, 3);
  });

  it('stops an include loop', () => {
    const a = file('loop/a.ini', '[uwsgi]\nini = loop/b.ini\n');
    file('loop/b.ini', '[uwsgi]\nini = loop/a.ini\n');
    configError(() => parse('--ini', a), { message: /include each other more than \d+ levels deep/ });
  });
});

describe('config file errors name file, line and key', () => {
  it('a bad value in an ini file', () => {
    const ini = file('bad-value.ini', '[uwsgi]\nsocket = :3031\n\ngevent = lots\n');
    configError(() => parse('--ini', ini), { file: ini, line: 4, key: 'gevent', reason: 'TSGI_ERR_BAD_OPTION_VALUE', message: new RegExp(`^${ini}:4: gevent: bad value for --gevent: "lots"`) });
  });

  it('a bad value in a yaml file', () => {
    const yaml = file('bad-value.yaml', 'uwsgi:\n  socket: :3031\n  buffer-size: 100000\n');
    configError(() => parse('--yaml', yaml), { file: yaml, line: 3, key: 'buffer-size', message: /from 1 to 65535/ });
  });

  it('a bad value in a json file', () => {
    const json = file('bad-value.json', '{\n  "uwsgi": {\n    "socket": ":3031",\n    "processes": "two"\n  }\n}\n');
    configError(() => parse('--json', json), { file: json, line: 4, key: 'processes' });
    const nested = file('nested.json', '{"uwsgi": {"socket": {"a": 1}}}');
    configError(() => parse('--json', nested), { file: nested, key: 'socket', message: /expected a string, number/ });
  });

  it('an unknown key, with a suggestion', () => {
    const ini = file('typo.ini', '[uwsgi]\nsocket = :3031\nprocesess = 4\n');
    configError(() => parse('--ini', ini), { file: ini, line: 3, key: 'procesess', reason: 'TSGI_ERR_UNKNOWN_OPTION', message: /did you mean --processes\?/ });
    assert.throws(() => parse('--ini', ini), (e: unknown) => e instanceof ConfigError && e.cause instanceof UnknownOptionError);
  });

  it('threads with gevent in a file', () => {
    const ini = file('threads.ini', '[uwsgi]\ngevent = 100\nthreads = 8\n');
    configError(() => parse('--ini', ini), { file: ini, line: 3, key: 'threads', reason: 'TSGI_ERR_THREADS_WITH_GEVENT' });
    assert.throws(() => parse('--ini', ini), (e: unknown) => e instanceof ConfigError && e.cause instanceof ThreadsWithGeventError);
  });

  it('missing files, sections and syntax errors', () => {
    configError(() => parse('--ini', 'nope.ini'), { file: 'nope.ini', message: /file not found/ });
    const noSection = file('nosection.ini', '[other]\ngevent = 1\n');
    configError(() => parse('--ini', noSection), { file: noSection, message: /Can't find section "uwsgi"/ });
    const badHeader = file('badheader.ini', '[uwsgi\ngevent = 1\n');
    configError(() => parse('--ini', badHeader), { file: badHeader, line: 1, message: /malformed section header/ });
    const badJson = file('bad.json', '{"uwsgi": {"gevent": }}');
    configError(() => parse('--json', badJson), { file: badJson, message: /invalid JSON/ });
    const noObject = file('noobject.json', '{"other": {}}');
    configError(() => parse('--json', noObject), { message: /you must define a object named uwsgi/ });
    const badYaml = file('bad.yaml', 'uwsgi:\n  gevent: 1\n  socket: [unclosed\n');
    configError(() => parse('--yaml', badYaml), { file: badYaml, message: /invalid YAML/ });
    assert.throws(() => parse('--include', file('x.txt', '')), (e: unknown) => e instanceof BadOptionValueError && /\.ini, \.json/.test(e.message));
    const inFile = file('include-txt.ini', '[uwsgi]\ninclude = x.txt\n');
    configError(() => parse('--ini', inFile), { file: inFile, line: 2, key: 'include', message: /\.ini, \.json/ });
  });

  it('keeps the exit code of the underlying error', () => {
    const ini = file('signal.ini', '[uwsgi]\nsignal = 127.0.0.1:3031,999\n');
    assert.throws(() => parse('--ini', ini), (e: unknown) => e instanceof ConfigError && e.exitCode === 3);
  });
});
