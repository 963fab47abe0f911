# Echoes the request headers the app received, as JSON: {"HTTP_X_NAME": "value", ...} (HTTP_* keys
# plus CONTENT_TYPE and CONTENT_LENGTH). WSGI decodes header bytes as latin-1; JSON keeps them exact.
import json


def application(environ, start_response):
    seen = {k: v for k, v in environ.items() if k.startswith('HTTP_') or k in ('CONTENT_TYPE', 'CONTENT_LENGTH')}
    body = json.dumps(seen, sort_keys=True).encode()
    start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
    return [body]
