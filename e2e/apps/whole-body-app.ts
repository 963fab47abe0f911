// Whole bodies known up front in every form a WSGI user returns them, none with a Content-Length.
import type { Environ, StartResponse } from '@tsgi/server';

const BODIES: Record<string, () => string | Buffer | Array<string | Buffer>> = {
  '/string': () => 'h\u00e9llo \u20ac',
  '/list-of-one': () => ['\u20ac uro'],
  '/list': () => ['\u00e9', Buffer.from(' \u20ac'), ' z'],
  '/bytes': () => Buffer.from('b\u00fdtes'),
};

export function application(environ: Environ, startResponse: StartResponse): string | Buffer | Array<string | Buffer> {
  const body = BODIES[String(environ.PATH_INFO)];
  if (body === undefined) {
    startResponse('404 Not Found', [['Content-Type', 'text/plain']]);
    return 'not found';
  }
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return body();
}
