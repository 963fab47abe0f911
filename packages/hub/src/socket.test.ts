import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GreenletExit } from './errors.js';
import { spawn } from './greenlet.js';
import { sleep } from './hub.js';
import { EAI_NONAME, ResolveError, gethostbyname, getaddrinfo, parseHosts } from './socket.js';

describe('@tsgi/hub/socket', () => {
  it('resolves localhost through /etc/hosts', async () => {
    assert.equal(await gethostbyname('localhost'), '127.0.0.1');
    const infos = await getaddrinfo('localhost', 80);
    assert.ok(infos.some((i) => i.family === 4 && i.address === '127.0.0.1' && i.port === 80));
    const v4 = await getaddrinfo('LOCALHOST', '8080', { family: 4 });
    assert.ok(v4.every((i) => i.family === 4 && i.port === 8080));
  });

  it('passes IP literals through', async () => {
    assert.deepEqual(await getaddrinfo('::1', 1), [{ family: 6, address: '::1', port: 1 }]);
    assert.equal(await gethostbyname('10.1.2.3'), '10.1.2.3');
  });

  it('fails cleanly, without network, for a name with a 64-byte label', async () => {
    const name = 'x'.repeat(64) + '.invalid';
    await assert.rejects(gethostbyname(name), (e: unknown) => {
      assert.ok(e instanceof ResolveError);
      assert.equal(e.code, 'TSGI_ERR_HUB_RESOLVE');
      assert.equal(e.errno, EAI_NONAME);
      assert.match(e.message, /^\[Errno -2\] Name or service not known/);
      return true;
    });
    await assert.rejects(getaddrinfo('nothing.invalid'), ResolveError);
    await assert.rejects(getaddrinfo('a..b'), ResolveError);
    await assert.rejects(getaddrinfo(''), ResolveError);
  });

  it('parses hosts files', () => {
    const t = parseHosts('# c\n127.0.0.1 localhost foo.Local # x\n::1 localhost ip6-localhost\nbogus line\n');
    assert.deepEqual(t.get('localhost'), { v4: ['127.0.0.1'], v6: ['::1'] });
    assert.deepEqual(t.get('foo.local'), { v4: ['127.0.0.1'], v6: [] });
    assert.equal(t.get('bogus'), undefined);
  });

  it('a lookup is a killable hub wait', async () => {
    const g = spawn(async () => {
      await sleep(60);
      return gethostbyname('localhost');
    });
    await sleep(0.01);
    await g.kill();
    assert.ok(g.value instanceof GreenletExit);
  });
});
