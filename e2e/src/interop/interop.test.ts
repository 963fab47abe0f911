// The interop list, one row per pair. Every pair runs the same checks (interop-suite.ts), so a
// difference between tsgi and the reference shows up as a failing row here.
import { after } from 'node:test';
import { join } from 'node:path';
import { peerSkipReason, programSkipReason, REPO_ROOT, stopAll } from '../support/index.js';
import { defineInteropSuite } from './interop-suite.js';
import { apacheFront, edgeFront, nginxFront, pair, tsgiBackend, uwsgiBackend, uwsgiRouterFront } from './pairs.js';

/** The TypeScript twin of reference/interop.py. */
const APP = join(REPO_ROOT, 'e2e', 'apps', 'interop-app.ts');

after(stopAll);

// The reference pairs: real peers from Debian's packages around real uWSGI 2.0 + gevent.
defineInteropSuite('nginx (uwsgi_buffering off) + uWSGI/gevent', pair(nginxFront(false), uwsgiBackend), { buffering: false, skip: peerSkipReason('nginx', 'uwsgi-gevent') });
defineInteropSuite('nginx (uwsgi_buffering on) + uWSGI/gevent', pair(nginxFront(true), uwsgiBackend), { buffering: true, skip: peerSkipReason('nginx', 'uwsgi-gevent') });
defineInteropSuite('Apache mod_proxy_uwsgi + uWSGI/gevent', pair(apacheFront, uwsgiBackend), { buffering: false, skip: peerSkipReason('apache2', 'uwsgi-gevent') });
defineInteropSuite('uWSGI http router + uWSGI/gevent', pair(uwsgiRouterFront, uwsgiBackend), { buffering: false, skip: peerSkipReason('uwsgi-http', 'uwsgi-gevent') });

// tsgi's pairs: the same checks with tsgi behind the same fronts, and tsgi-edge in front of both.
const tsgi = tsgiBackend(APP);
defineInteropSuite('nginx (uwsgi_buffering off) + tsgi', pair(nginxFront(false), tsgi), { buffering: false, skip: peerSkipReason('nginx') ?? programSkipReason('tsgi') });
defineInteropSuite('nginx (uwsgi_buffering on) + tsgi', pair(nginxFront(true), tsgi), { buffering: true, skip: peerSkipReason('nginx') ?? programSkipReason('tsgi') });
defineInteropSuite('Apache mod_proxy_uwsgi + tsgi', pair(apacheFront, tsgi), { buffering: false, skip: peerSkipReason('apache2') ?? programSkipReason('tsgi') });
defineInteropSuite('uWSGI http router + tsgi', pair(uwsgiRouterFront, tsgi), { buffering: false, skip: peerSkipReason('uwsgi-http') ?? programSkipReason('tsgi') });
defineInteropSuite('tsgi-edge (buffering off) + uWSGI/gevent', pair(edgeFront(false), uwsgiBackend), { buffering: false, skip: peerSkipReason('uwsgi-gevent') ?? programSkipReason('tsgi-edge') });
defineInteropSuite('tsgi-edge (buffering on) + uWSGI/gevent', pair(edgeFront(true), uwsgiBackend), { buffering: true, skip: peerSkipReason('uwsgi-gevent') ?? programSkipReason('tsgi-edge') });
defineInteropSuite('tsgi-edge (buffering off) + tsgi', pair(edgeFront(false), tsgi), { buffering: false, skip: programSkipReason('tsgi', 'tsgi-edge') });
defineInteropSuite('tsgi-edge (buffering on) + tsgi', pair(edgeFront(true), tsgi), { buffering: true, skip: programSkipReason('tsgi', 'tsgi-edge') });
