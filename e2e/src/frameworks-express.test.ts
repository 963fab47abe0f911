import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { frameworkSuite } from './frameworks-suite.js';

frameworkSuite({
  name: 'Express',
  file: 'express-app.ts',
  stuckRoute: '/stuck',
  async native(module) {
    const server = http.createServer(module.app as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
});
