import { join } from 'node:path';
import {
  REFERENCE_DIR,
  startApache,
  startEdge,
  startNginx,
  startTsgi,
  startUwsgi,
  startUwsgiHttpRouter,
  formatAddress,
  type PeerAddress,
} from '../support/index.js';
import type { InteropPair } from './interop-suite.js';

/** An app server listening on the uwsgi protocol. */
export interface Backend {
  uwsgi: PeerAddress;
  stop(): Promise<unknown>;
}

/** An HTTP front that passes everything to a uwsgi upstream. */
export interface Front {
  url: string;
  stop(): Promise<unknown>;
}

export type BackendStarter = () => Promise<Backend>;
export type FrontStarter = (upstream: PeerAddress) => Promise<Front>;

/** The reference interop app: every route of INTEROP_ROUTES, in Python. */
export const REFERENCE_INTEROP_APP = join(REFERENCE_DIR, 'interop.py');

/** Real uWSGI 2.0 + gevent (`--gevent 100`) serving the reference interop app on a TCP uwsgi socket. */
export const uwsgiBackend: BackendStarter = async () => {
  const uwsgi = await startUwsgi({ app: REFERENCE_INTEROP_APP, gevent: 100 });
  return { uwsgi: uwsgi.address!, stop: () => uwsgi.stop() };
};

/** tsgi serving `app` (an interop app in TypeScript or JavaScript) with `--gevent 100` on a uwsgi socket. */
export const tsgiBackend =
  (app: string, extraArgs: string[] = []): BackendStarter =>
  async () => {
    const tsgi = await startTsgi(['--gevent', '100', '--socket', '127.0.0.1:0', '--module', app, ...extraArgs]);
    return { uwsgi: tsgi.uwsgiAddress!, stop: () => tsgi.stop() };
  };

/** nginx with one `location /` doing `uwsgi_pass`, buffering on or off. */
export const nginxFront =
  (buffering: boolean): FrontStarter =>
  async (upstream) => {
    const nginx = await startNginx({ locations: [{ prefix: '/', uwsgiPass: upstream, buffering }] });
    return { url: nginx.url, stop: () => nginx.stop() };
  };

/** Apache with mod_proxy_uwsgi (`ProxyPass / uwsgi://...`). */
export const apacheFront: FrontStarter = async (upstream) => {
  const apache = await startApache({ uwsgiPass: upstream });
  return { url: apache.url, stop: () => apache.stop() };
};

/** uWSGI's own HTTP router (`uwsgi --http ... --http-to ...`). */
export const uwsgiRouterFront: FrontStarter = async (upstream) => {
  const router = await startUwsgiHttpRouter({ to: upstream });
  return { url: router.url, stop: () => router.stop() };
};

/** tsgi-edge (`--listen 127.0.0.1:0 --uwsgi-pass ADDR --buffering on|off`). */
export const edgeFront =
  (buffering: boolean): FrontStarter =>
  async (upstream) => {
    // The same body limit the nginx front gets, so the 10 MB POST check is not refused with 413.
    const edge = await startEdge(['--listen', '127.0.0.1:0', '--uwsgi-pass', formatAddress(upstream), '--buffering', buffering ? 'on' : 'off', '--client-max-body-size', '64m', '--access-log', 'off']);
    return { url: edge.url, stop: () => edge.stop() };
  };

/** Starts `backend`, then `front` in front of it; stops both (front first), also when the front fails to start. */
export function pair(front: FrontStarter, backend: BackendStarter): () => Promise<InteropPair> {
  return async () => {
    const app = await backend();
    let started: Front;
    try {
      started = await front(app.uwsgi);
    } catch (err) {
      await app.stop();
      throw err;
    }
    return {
      baseUrl: started.url,
      async stop() {
        await started.stop();
        await app.stop();
      },
    };
  };
}
