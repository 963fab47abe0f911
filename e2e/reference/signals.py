# uWSGI signal handling: signal 17 is registered for the workers; each delivery appends one line
# "signal 17 pid P" to the file named by $TSGI_SIGNALS_FILE. GET /raise raises it; GET / answers
# with the file's contents so far. Needs a master (uWSGI routes signals through it).
import os

import uwsgi

SIGNUM = 17
OUT = os.environ.get('TSGI_SIGNALS_FILE', '/tmp/tsgi-signals.txt')


def on_signal(num):
    with open(OUT, 'a') as f:
        f.write("signal %d pid %d\n" % (num, os.getpid()))


uwsgi.register_signal(SIGNUM, 'workers', on_signal)


def application(environ, start_response):
    if environ.get('PATH_INFO') == '/raise':
        uwsgi.signal(SIGNUM)
        body = b'raised\n'
    else:
        try:
            with open(OUT, 'rb') as f:
                body = f.read()
        except FileNotFoundError:
            body = b''
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
