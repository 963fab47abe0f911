// Express hello world for the adapter benchmark (served by tsgi and by Node's http server).
import express from 'express';

export const app = express();
app.get('/', (_req, res) => {
  res.send('Hello World');
});
