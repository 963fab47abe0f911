# 1 MB in 1 KB chunks, one yield per chunk, no Content-Length (so fronts stream it chunked).
# ?kb=N changes the number of 1 KB chunks.
from urllib.parse import parse_qs

CHUNK = b"x" * 1023 + b"\n"


def application(environ, start_response):
    query = parse_qs(environ.get('QUERY_STRING', ''))
    count = int(query.get('kb', ['1024'])[0])
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    for _ in range(count):
        yield CHUNK
