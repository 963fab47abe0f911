# Sleeps cooperatively, 1 s by default or ?s=SECONDS, then answers. With --gevent N at most N run at once.
from urllib.parse import parse_qs

import gevent


def application(environ, start_response):
    query = parse_qs(environ.get('QUERY_STRING', ''))
    seconds = float(query.get('s', ['1'])[0])
    gevent.sleep(seconds)
    body = ("slept %.3f\n" % seconds).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
