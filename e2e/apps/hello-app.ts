// Hello world as a WSGI user writes it: the whole body known up front, returned as a list.
import type { Environ, StartResponse } from '@tsgi/server';

export function application(environ: Environ, startResponse: StartResponse): string[] {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['Hello ', 'World'];
}
