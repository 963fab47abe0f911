# One app for the interop suite, so that each pair starts one uWSGI: it routes by the first path
# segment to the reference apps beside it (/crazy, /echo, /headers, /status/404, /status/500, /hello,
# /stream, /sleep), leaving PATH_INFO as it came.
import crazy
import echo
import headers
import hello
import sleep
import status
import stream

ROUTES = {
    'crazy': crazy.application,
    'echo': echo.application,
    'headers': headers.application,
    'hello': hello.application,
    'sleep': sleep.application,
    'status': status.application,
    'stream': stream.application,
}


def application(environ, start_response):
    first = environ.get('PATH_INFO', '/').lstrip('/').split('/', 1)[0]
    app = ROUTES.get(first)
    if app is None:
        body = b'unknown route\n'
        start_response('404 Not Found', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
        return [body]
    return app(environ, start_response)
