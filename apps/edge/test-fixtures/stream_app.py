# A small streaming WSGI app for tsgi-edge's e2e checks under real uWSGI (--gevent):
#   /unbuffered/, /buffered/  -> the crazy example's shape: a first line, a 3 s gevent sleep, then the rest
#   /env/...                  -> the request's uwsgi vars as JSON (what the front proxy sent)
#   /accel-no/                -> like /buffered/ but the app asks for X-Accel-Buffering: no
#   /exc-before/              -> raises before start_response (uWSGI closes with no reply)
#   /hello/                   -> b"hello" (load and failover checks)
#   /big/...                  -> 128 MiB in 64 KiB yields (slow-client checks: more than every kernel
#                                socket buffer on the path can hold, since loopback autotunes to 32 MiB)
import json
import gevent


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path.startswith('/env/'):
        body = json.dumps({k: v for k, v in environ.items() if isinstance(v, str)}, sort_keys=True).encode()
        start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
        return [body]
    if path.startswith('/exc-before/'):
        raise ValueError('boom before start_response')
    if path.startswith('/hello/'):
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '5')])
        return [b"hello"]
    if path.startswith('/big/'):
        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return (b"x" * 65536 for _ in range(2048))
    headers = [('Content-Type', 'text/html')]
    if path.startswith('/accel-no/'):
        headers.append(('X-Accel-Buffering', 'no'))
    start_response('200 OK', headers)
    return stream()


def stream():
    yield b"sleeping for 3 seconds...\n"
    gevent.sleep(3)
    yield b"done\n"
