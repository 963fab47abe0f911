import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { frameworkSuite } from './frameworks-suite.js';

frameworkSuite({
  name: 'Koa',
  file: 'koa-app.ts',
  async native(module) {
    const app = module.default as { callback(): http.RequestListener };
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
});
