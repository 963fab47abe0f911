# Error statuses that a front must pass through untouched: /404 and /500 (each with a body and an
# extra header); any other path answers 200.
def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path.endswith('/404'):
        status, body = '404 Not Found', b'no such thing\n'
    elif path.endswith('/500'):
        status, body = '500 Internal Server Error', b'the app says it failed\n'
    else:
        status, body = '200 OK', b'fine\n'
    start_response(status, [('Content-Type', 'text/plain'), ('Content-Length', str(len(body))), ('X-Reference-Status', status[:3])])
    return [body]
