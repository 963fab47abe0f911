// The interop list, one row per pair. Every pair runs the same checks (interop-suite.ts), so a
// difference between tsgi and the reference shows up as a failing row here.
import { after } from 'node:test';
import { peerSkipReason, stopAll } from '../support/index.js';
import { defineInteropSuite } from './interop-suite.js';
import { apacheFront, nginxFront, pair, uwsgiBackend, uwsgiRouterFront } from './pairs.js';

after(stopAll);

// The reference pairs: real peers from Debian's packages around real uWSGI 2.0 + gevent.
defineInteropSuite('nginx (uwsgi_buffering off) + uWSGI/gevent', pair(nginxFront(false), uwsgiBackend), { buffering: false, skip: peerSkipReason('nginx', 'uwsgi-gevent') });
defineInteropSuite('nginx (uwsgi_buffering on) + uWSGI/gevent', pair(nginxFront(true), uwsgiBackend), { buffering: true, skip: peerSkipReason('nginx', 'uwsgi-gevent') });
defineInteropSuite('Apache mod_proxy_uwsgi + uWSGI/gevent', pair(apacheFront, uwsgiBackend), { buffering: false, skip: peerSkipReason('apache2', 'uwsgi-gevent') });
defineInteropSuite('uWSGI http router + uWSGI/gevent', pair(uwsgiRouterFront, uwsgiBackend), { buffering: false, skip: peerSkipReason('uwsgi-http', 'uwsgi-gevent') });
