import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { newEnvironObject } from './environ.js';

/** 15 uwsgi_params, 30 request headers and the tsgi keys: a large request from nginx. */
const KEYS = [
  'QUERY_STRING', 'REQUEST_METHOD', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'REQUEST_URI', 'PATH_INFO', 'DOCUMENT_ROOT', 'SERVER_PROTOCOL',
  'REQUEST_SCHEME', 'HTTPS', 'REMOTE_ADDR', 'REMOTE_PORT', 'SERVER_PORT', 'SERVER_NAME', 'HTTP_HOST',
  ...Array.from({ length: 30 }, (_, i) => `HTTP_X_HEADER_${i}`),
  'tsgi.version', 'tsgi.url_scheme', 'tsgi.input', 'tsgi.errors', 'tsgi.multithread', 'tsgi.multiprocess', 'tsgi.run_once',
  'tsgi.greenlet', 'uwsgi.version', 'uwsgi.node', 'uwsgi.core', 'tsgi.trailers',
];

describe('newEnvironObject', () => {
  it('is an empty plain object: Object.prototype, no own keys, JSON as {}', () => {
    const environ = newEnvironObject();
    assert.equal(Object.getPrototypeOf(environ), Object.prototype);
    assert.equal(environ.constructor, Object);
    assert.deepEqual(Reflect.ownKeys(environ), []);
    assert.equal(JSON.stringify(environ), '{}');
    for (const key of KEYS) environ[key] = key.toLowerCase();
    assert.deepEqual(Object.keys(environ), KEYS);
    assert.equal(environ.r0, undefined);
  });

  it('keeps fast properties with 57 computed keys, where an object literal becomes a hash table', () => {
    const script = `
      const { newEnvironObject } = await import(${JSON.stringify(new URL('./environ.js', import.meta.url).href)});
      const keys = ${JSON.stringify(KEYS)};
      const fill = (o) => { for (const k of keys) o[k] = 'v'; return o; };
      let environ, literal;
      for (let i = 0; i < 20; i++) { environ = fill(newEnvironObject()); literal = fill({}); }
      console.log(JSON.stringify({ environ: %HasFastProperties(environ), literal: %HasFastProperties(literal) }));
    `;
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    // The literal going to dictionary mode is what makes the environ object worth having.
    assert.deepEqual(JSON.parse(out), { environ: true, literal: false });
  });
});
