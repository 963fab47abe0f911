// A fetch handler whose routes report how they are served: on --http-socket tsgi gives it a Request
// built lazily over Node's req (the direct path); through uwsgi_pass a Request made from the environ.
import { getCurrent, getHub, sleep } from '@tsgi/hub';
import { requestContext } from '@tsgi/server/uwsgi';
import type { Environ } from '@tsgi/server';

export default {
  async fetch(request: Request, environ: Environ): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/kind':
        return Response.json({
          request: request.constructor.name,
          isRequest: request instanceof Request,
          remoteAddr: environ.REMOTE_ADDR,
          core: requestContext().core,
          inGreenlet: getCurrent() !== getHub().main,
        });
      case '/echo':
        return new Response(`echo:${await request.text()}`, { headers: { 'content-type': 'text/plain' } });
      case '/rewrap': {
        const copy = new Request(request, { headers: { 'x-copied': 'yes' } });
        return Response.json({ method: copy.method, url: copy.url, copied: copy.headers.get('x-copied'), body: await copy.text() });
      }
      case '/bytes':
        return new Response(new Uint8Array([104, 105, 33]), { status: 201, headers: { 'x-kind': 'bytes' } });
      case '/stream': {
        let i = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (i === 3) return controller.close();
            controller.enqueue(new TextEncoder().encode(`part ${i++}\n`));
            await sleep(0.2);
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/plain' } });
      }
      case '/stuck':
        await sleep(60);
        return new Response('too late');
      default:
        return new Response('nothing here\n', { status: 404 });
    }
  },
};
