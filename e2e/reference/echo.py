# Reads the request body in 64 KB pieces (never all at once) and answers with its length and sha256:
# {"length": N, "sha256": "hex"}.
import hashlib
import json


def application(environ, start_response):
    stream = environ['wsgi.input']
    digest = hashlib.sha256()
    length = 0
    while True:
        piece = stream.read(65536)
        if not piece:
            break
        digest.update(piece)
        length += len(piece)
    body = json.dumps({"length": length, "sha256": digest.hexdigest()}).encode()
    start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
    return [body]
