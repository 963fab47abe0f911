import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { frameworkSuite } from './frameworks-suite.js';

frameworkSuite({
  name: 'Hono',
  file: 'hono-app.ts',
  async native(module) {
    const app = module.default as { fetch: (request: Request) => Response | Promise<Response> };
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
});
