// The client suite again with every request on a net.Socket (the path taken when the handle bindings are missing).
process.env.TSGI_RAW_UWSGI = '0';
await import('./client.test.js');
