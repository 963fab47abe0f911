#!/usr/bin/env node
// `pnpm start`: the hub demo until the server lands.
await import('../packages/hub/dist/index.js');
console.log('tsgi: the server is not built yet; see the issues.');
