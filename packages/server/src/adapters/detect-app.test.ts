import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { detectApp } from '../engine/app-adapter.js';
import type { LoadedApp } from '../engine/app-loader.js';

function loaded(namespace: Record<string, unknown>, callableName = 'application'): LoadedApp {
  return { location: '/srv/app.ts', callableName, namespace, callable: namespace[callableName] };
}

const tsgi = (_e: unknown, _s: unknown) => 'x';
const expressLike = Object.assign((_req: unknown, _res: unknown, _next: unknown) => undefined, { handle() {}, use() {}, listen() {} });
const koaLike = { use() {}, callback: () => (_req: unknown, _res: unknown) => undefined };
const honoLike = { fetch: (_r: Request) => new Response('x'), get() {} };

describe('detectApp', () => {
  test('the callable (default `application`) is a TSGI app', async () => {
    assert.equal((await detectApp(loaded({ application: tsgi, app: expressLike }), null)).type, 'tsgi');
  });

  test('an Express app, a Koa app, an http.Server, a Hono-like object, and a fetch export', async () => {
    const express = await detectApp(loaded({ app: expressLike }), null);
    assert.deepEqual([express.type, express.exportName, express.description], ['node', 'app', 'an Express application']);
    const koa = await detectApp(loaded({ default: koaLike }), null);
    assert.deepEqual([koa.type, koa.description], ['node', 'a Koa application (app.callback())']);
    const server = http.createServer(() => undefined);
    assert.equal((await detectApp(loaded({ server }), null)).description, "an http.Server (its 'request' listeners)");
    const hono = await detectApp(loaded({ default: honoLike }), null);
    assert.deepEqual([hono.type, hono.exportName], ['fetch', 'default']);
    assert.equal((await detectApp(loaded({ fetch: (_r: Request) => new Response('') }), null)).type, 'fetch');
  });

  test('a plain default function: (req, res) is a Node listener, (request) a fetch handler', async () => {
    assert.equal((await detectApp(loaded({ default: (_req: unknown, _res: unknown) => undefined }), null)).type, 'node');
    assert.equal((await detectApp(loaded({ default: (_request: unknown) => new Response('') }), null)).type, 'fetch');
  });

  test('a framework app named by --callable is served as that framework', async () => {
    assert.equal((await detectApp(loaded({ app: expressLike }, 'app'), null)).type, 'node');
  });

  test('a Fastify-like instance is made ready at startup, and a failing ready() is a startup error', async () => {
    let ready = 0;
    const onRequest = (_req: unknown, _res: unknown) => undefined;
    const fastifyLike = { routing() {}, ready: async () => void ready++, server: { listeners: () => [onRequest] } };
    assert.equal((await detectApp(loaded({ default: fastifyLike }), null)).description, 'a Fastify instance');
    assert.equal(ready, 1);
    const broken = { routing() {}, ready: async () => Promise.reject(new Error('plugin failed')), server: { listeners: () => [] } };
    await assert.rejects(detectApp(loaded({ app: broken }), null), { code: 'TSGI_ERR_APP_LOAD', message: /Fastify instance \(export app\) failed to get ready:\n.*plugin failed/ });
  });

  test('--app-type overrides detection', async () => {
    const both = { application: tsgi, default: honoLike, app: (_req: unknown, _res: unknown) => undefined };
    assert.equal((await detectApp(loaded(both), 'fetch')).exportName, 'default');
    assert.equal((await detectApp(loaded(both), 'node')).exportName, 'app');
    assert.equal((await detectApp(loaded({ handler: (_r: unknown) => undefined }), 'node')).type, 'node');
    assert.equal((await detectApp(loaded({ application: tsgi }), 'fetch')).exportName, 'application');
    assert.equal((await detectApp(loaded({ main: (_r: unknown) => undefined, default: honoLike }, 'main'), 'node')).exportName, 'main');
    await assert.rejects(detectApp(loaded({ default: honoLike }), 'tsgi'), { code: 'TSGI_ERR_APP_LOAD', message: /as --app-type tsgi/ });
    await assert.rejects(detectApp(loaded({ application: tsgi }), 'express'), /not one of tsgi, node, fetch/);
  });

  test('nothing servable: the error lists what the module exports', async () => {
    await assert.rejects(detectApp(loaded({ config: { port: 1 }, version: '1.0', helper: (a: number) => a }), null), {
      code: 'TSGI_ERR_APP_LOAD',
      message: /\/srv\/app\.ts has nothing tsgi can serve: looked for .*; the module exports: config \(object \{port\}\), version \(string\), helper \(function\/1\)/,
    });
  });
});
