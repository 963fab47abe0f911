import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from './balancer.js';
import { normalizeConfig } from './config.js';

function group(servers: unknown[], balance = 'round_robin') {
  return normalizeConfig({ upstreams: { g: { servers, balance } }, locations: [{ uwsgi_pass: 'g' }] }).upstreams.get('g')!;
}

test('smooth weighted round-robin gives nginx sequence for weights 5,1,1', () => {
  const b = new Balancer(group([{ address: '10.0.0.1:1', weight: 5 }, { address: '10.0.0.2:1' }, { address: '10.0.0.3:1' }]));
  const seq = Array.from({ length: 7 }, () => b.pick()!.server.label.slice(7, 8)).join('');
  assert.equal(seq, '1121311');
});

test('equal weights rotate', () => {
  const b = new Balancer(group(['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1']));
  assert.deepEqual(Array.from({ length: 6 }, () => b.pick()!.server.label), ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1']);
});

test('least_conn picks the peer with the fewest active connections per weight', () => {
  const b = new Balancer(group(['10.0.0.1:1', { address: '10.0.0.2:1', weight: 2 }], 'least_conn'));
  const [p1, p2] = b.peers;
  p1.active = 1;
  p2.active = 1;
  assert.equal(b.pick(), p2);
  p2.active = 3;
  assert.equal(b.pick(), p1);
});

test('max_fails within fail_timeout marks a peer down for fail_timeout; tried peers are skipped', () => {
  let now = 1000;
  const b = new Balancer(group([{ address: '10.0.0.1:1', max_fails: 2, fail_timeout: 10 }, '10.0.0.2:1']), () => now);
  const [p1, p2] = b.peers;
  b.failed(p1);
  assert.ok(p1.downUntil <= now, 'one failure of max_fails 2 does not mark it down');
  b.failed(p1);
  assert.equal(p1.downUntil, now + 10000);
  assert.equal(b.pick(), p2);
  assert.equal(b.pick(), p2);
  assert.equal(b.pick(new Set([p2])), undefined, 'no live upstreams');
  now += 10001;
  assert.equal(b.pick(new Set([p2])), p1, 'back after fail_timeout');
});

test('max_fails 0 never marks down; a single server is never down', () => {
  const b = new Balancer(group([{ address: '10.0.0.1:1', max_fails: 0 }, '10.0.0.2:1']));
  for (let i = 0; i < 5; i++) b.failed(b.peers[0]);
  assert.equal(b.peers[0].downUntil, 0);
  const one = new Balancer(group(['10.0.0.1:1']));
  one.failed(one.peers[0]);
  assert.equal(one.pick(), one.peers[0]);
});
