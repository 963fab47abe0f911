import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { type NginxUwsgiVarsOptions, decodeVars, documentUri, encodePacket, nginxUwsgiVars } from './index.js';
import { FIXTURE_NAMES, loadFixture } from './test-support/helpers.js';

/** Sends raw request bytes to a real Node HTTP server and hands the IncomingMessage to `inspect`. */
async function withRequest<T>(raw: string, inspect: (req: http.IncomingMessage) => T): Promise<T> {
  let result!: T;
  const server = http.createServer((req, res) => {
    result = inspect(req);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.end(Buffer.from(raw, 'latin1')));
      c.on('data', () => {});
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  return result;
}

describe('nginxUwsgiVars', () => {
  for (const name of FIXTURE_NAMES) {
    it(`produces exactly the vars nginx sent in fixture ${name}`, async () => {
      const fx = loadFixture(name);
      const datasize = fx.bytes[1] | (fx.bytes[2] << 8);
      const sent = decodeVars(fx.bytes.subarray(4, 4 + datasize));
      const get = (k: string) => sent.find(([key]) => key === k)![1];
      const options: NginxUwsgiVarsOptions = {
        serverName: fx.serverName,
        documentRoot: fx.documentRoot,
        serverPort: get('SERVER_PORT'),
        remotePort: get('REMOTE_PORT'),
        debianHostParam: name.endsWith('-debian'),
        // Debian bookworm's nginx 1.22 sends one var per header line
        joinDuplicateHeaders: false,
      };
      // nginx buffers a chunked request body and sends its length
      if (name === 'post-chunked-debian') options.contentLength = get('CONTENT_LENGTH');
      const built = await withRequest(fx.request, (req) => nginxUwsgiVars(req, options));
      assert.deepEqual(built, sent);
      // and encoding them gives nginx's packet byte for byte
      assert.deepEqual(encodePacket({ vars: built }), fx.bytes.subarray(0, 4 + datasize));
    });
  }

  it('nginx >= 1.23 joins duplicate headers with ", " and Cookie with "; "; https adds HTTPS=on', async () => {
    const vars = await withRequest('GET /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nCookie: a=1\r\nx-a: 2\r\nCookie: b=2\r\n\r\n', (req) =>
      nginxUwsgiVars(req, { https: true, serverName: 's' }),
    );
    const keys = vars.map(([k]) => k);
    assert.deepEqual(keys.slice(0, 14), [
      'QUERY_STRING', 'REQUEST_METHOD', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'REQUEST_URI', 'PATH_INFO', 'DOCUMENT_ROOT',
      'SERVER_PROTOCOL', 'REQUEST_SCHEME', 'HTTPS', 'REMOTE_ADDR', 'REMOTE_PORT', 'SERVER_PORT', 'SERVER_NAME',
    ]);
    assert.deepEqual(vars.slice(14), [
      ['HTTP_HOST', 'h'],
      ['HTTP_X_A', '1, 2'],
      ['HTTP_COOKIE', 'a=1; b=2'],
    ]);
    assert.equal(vars.find(([k]) => k === 'REQUEST_SCHEME')![1], 'https');
    assert.equal(vars.find(([k]) => k === 'REMOTE_ADDR')![1], '127.0.0.1');
  });

  it('underscoresInHeaders on keeps X_Under as HTTP_X_UNDER', async () => {
    const vars = await withRequest('GET / HTTP/1.1\r\nHost: h\r\nX_Under: 1\r\n\r\n', (req) => nginxUwsgiVars(req, { underscoresInHeaders: true }));
    assert.deepEqual(vars.at(-1), ['HTTP_X_UNDER', '1']);
  });

  it('documentUri decodes, merges slashes and resolves dot segments like $document_uri', () => {
    assert.equal(documentUri('/a%20b//c/./d/../e'), '/a b/c/e');
    assert.equal(documentUri('/../../x'), '/x');
    assert.equal(documentUri('/a/b/'), '/a/b/');
    assert.equal(documentUri('/a/..'), '/');
    assert.equal(documentUri('/%e9%zz'), '/\u00e9%zz');
  });
});
