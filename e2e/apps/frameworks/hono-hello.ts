// Hono hello world for the adapter benchmark (served by tsgi and by @hono/node-server).
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('Hello World'));

export default app;
