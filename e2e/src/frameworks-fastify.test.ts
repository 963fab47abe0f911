import { frameworkSuite } from './frameworks-suite.js';

frameworkSuite({
  name: 'Fastify',
  file: 'fastify-app.ts',
  async native(module) {
    const app = module.app as { listen(o: { port: number; host: string }): Promise<string>; close(): Promise<void> };
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  },
});
