/**
 * One table describes every setting once: its key (the config-file name; the CLI flag is the same with
 * dashes), kind, default, the nginx directive it mirrors, and help. The config loader, the CLI parser,
 * `--help` and the README's tables are all read from here, so they cannot disagree.
 */
export type OptionKind = 'size' | 'time' | 'flag' | 'buffers' | 'int' | 'string' | 'list' | 'enum';

export interface OptionSpec {
  readonly key: string;
  /** `server`: once per edge; `location`: per location, with the top level of the config as the default. */
  readonly scope: 'server' | 'location';
  readonly kind: OptionKind;
  readonly default: string | number | boolean | readonly string[] | null;
  readonly values?: readonly string[];
  readonly nginx: string;
  readonly help: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  // Server scope.
  { key: 'listen', scope: 'server', kind: 'string', default: ':8080', nginx: 'listen', help: 'Address to accept clients on: HOST:PORT, :PORT (all interfaces), [v6]:PORT or unix:/path. Port 0 picks a free port.' },
  { key: 'server_name', scope: 'server', kind: 'string', default: 'localhost', nginx: 'server_name', help: 'The name sent to uwsgi upstreams as SERVER_NAME and written in error-log lines.' },
  { key: 'document_root', scope: 'server', kind: 'string', default: '/usr/share/nginx/html', nginx: 'root', help: 'Sent to uwsgi upstreams as DOCUMENT_ROOT (nginx sends its root; Debian\'s default is this one).' },
  { key: 'access_log', scope: 'server', kind: 'string', default: '-', nginx: 'access_log', help: 'File for the access log (combined format + upstream address + upstream response time); "-" is stdout, "off" disables.' },
  { key: 'error_log', scope: 'server', kind: 'string', default: '-', nginx: 'error_log', help: 'File for the error log; "-" is stderr.' },
  { key: 'temp_path', scope: 'server', kind: 'string', default: null, nginx: 'uwsgi_temp_path / proxy_temp_path', help: 'Directory for temp files of buffered responses and request bodies (default: the OS temp directory). Files are unlinked as soon as they are opened.' },
  { key: 'client_header_timeout', scope: 'server', kind: 'time', default: '60s', nginx: 'client_header_timeout', help: 'Time a client may take to send the request headers.' },
  { key: 'client_body_timeout', scope: 'server', kind: 'time', default: '60s', nginx: 'client_body_timeout', help: 'Time between two successive reads of the request body.' },
  { key: 'client_send_timeout', scope: 'server', kind: 'time', default: '60s', nginx: 'send_timeout', help: 'Time between two successive writes to a client that does not read; the connection is closed after it.' },
  { key: 'keepalive_timeout', scope: 'server', kind: 'time', default: '75s', nginx: 'keepalive_timeout', help: 'How long an idle keep-alive client connection stays open.' },
  { key: 'large_client_header_buffers', scope: 'server', kind: 'buffers', default: '4 8k', nginx: 'large_client_header_buffers', help: 'Bounds the request head: count × size bytes in all (431 beyond).' },
  { key: 'upstream_keepalive', scope: 'server', kind: 'int', default: 0, nginx: 'keepalive (upstream block)', help: 'Idle connections kept open to each proxy_pass server for the next requests; 0 opens a connection per request (nginx without keepalive). A request that fails on a reused connection before any response byte is sent again once on a new one, as nginx does. uwsgi upstreams always take a connection per request.' },
  { key: 'shutdown_timeout', scope: 'server', kind: 'time', default: 0, nginx: 'worker_shutdown_timeout', help: 'On SIGTERM, connections still open after this long are closed; 0 waits for every in-flight response.' },
  // Location scope.
  { key: 'prefix', scope: 'location', kind: 'string', default: '/', nginx: 'location /prefix', help: 'URI prefix this location serves; the longest matching prefix wins.' },
  { key: 'uwsgi_pass', scope: 'location', kind: 'string', default: null, nginx: 'uwsgi_pass', help: 'uwsgi upstream: HOST:PORT, unix:/path, or the name of an upstream group.' },
  { key: 'proxy_pass', scope: 'location', kind: 'string', default: null, nginx: 'proxy_pass', help: 'HTTP upstream: http://HOST:PORT[/path], http://unix:/path:, or http://GROUP. A path replaces the matched prefix, as in nginx.' },
  { key: 'static', scope: 'location', kind: 'string', default: null, nginx: 'alias', help: 'Directory to serve files from; the matched prefix is replaced by this directory.' },
  { key: 'index', scope: 'location', kind: 'list', default: ['index.html'], nginx: 'index', help: 'Files tried for a request that names a directory of a static location.' },
  { key: 'buffering', scope: 'location', kind: 'flag', default: true, nginx: 'uwsgi_buffering / proxy_buffering', help: 'on: read the upstream at its speed into buffers and a temp file, feed the client from them. off: relay each read at once with backpressure.' },
  { key: 'buffer_size', scope: 'location', kind: 'size', default: '4k', nginx: 'uwsgi_buffer_size', help: 'Largest upstream response head ("upstream sent too big header" beyond), the unit in which a buffered response is sent on, and the most relayed per read.' },
  { key: 'buffers', scope: 'location', kind: 'buffers', default: '8 4k', nginx: 'uwsgi_buffers', help: 'Memory for one buffered response: count × size.' },
  { key: 'max_temp_file_size', scope: 'location', kind: 'size', default: '1024m', nginx: 'uwsgi_max_temp_file_size', help: 'How much of a buffered response may go to a temp file once the memory buffers are full; 0 disables temp files. When full, reading from the upstream pauses.' },
  { key: 'request_buffering', scope: 'location', kind: 'flag', default: true, nginx: 'uwsgi_request_buffering', help: 'on: read the whole request body (memory, then temp file) before contacting the upstream. off: stream it. Chunked bodies to uwsgi upstreams are always buffered (CONTENT_LENGTH must be known).' },
  { key: 'client_max_body_size', scope: 'location', kind: 'size', default: '1m', nginx: 'client_max_body_size', help: 'Largest request body; larger answers 413. 0 disables the check.' },
  { key: 'client_body_buffer_size', scope: 'location', kind: 'size', default: '16k', nginx: 'client_body_buffer_size', help: 'Memory for a buffered request body before it goes to a temp file.' },
  { key: 'connect_timeout', scope: 'location', kind: 'time', default: '60s', nginx: 'uwsgi_connect_timeout', help: 'Time to establish the upstream connection (504 beyond).' },
  { key: 'send_timeout', scope: 'location', kind: 'time', default: '60s', nginx: 'uwsgi_send_timeout', help: 'Time between two successive writes of the request to the upstream (504 beyond).' },
  { key: 'read_timeout', scope: 'location', kind: 'time', default: '60s', nginx: 'uwsgi_read_timeout', help: 'Time between two successive reads from the upstream (504 before the header; the client connection is closed after it).' },
  { key: 'ignore_headers', scope: 'location', kind: 'list', default: [], nginx: 'uwsgi_ignore_headers', help: 'Upstream response headers whose special meaning is disabled; supported: X-Accel-Buffering.' },
  { key: 'next_upstream', scope: 'location', kind: 'list', default: ['error', 'timeout'], values: ['error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429', 'non_idempotent', 'off'], nginx: 'uwsgi_next_upstream', help: 'When to try the next server of a group (never once part of the response reached the client; non-idempotent methods only with non_idempotent).' },
  { key: 'next_upstream_tries', scope: 'location', kind: 'int', default: 0, nginx: 'uwsgi_next_upstream_tries', help: 'Most servers tried for one request; 0 means every server of the group.' },
  { key: 'modifier1', scope: 'location', kind: 'int', default: 0, nginx: 'uwsgi_modifier1', help: 'uwsgi packet modifier1 (0 = WSGI).' },
  { key: 'modifier2', scope: 'location', kind: 'int', default: 0, nginx: 'uwsgi_modifier2', help: 'uwsgi packet modifier2.' },
];

export const OPTION_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((o) => [o.key, o]));

/** The options table as Markdown (used by `--help-markdown` to regenerate the README's tables). */
export function optionsMarkdown(scope: 'server' | 'location'): string {
  const rows = OPTIONS.filter((o) => o.scope === scope).map((o) => {
    const def = o.default === null ? '—' : Array.isArray(o.default) ? o.default.join(' ') || '—' : typeof o.default === 'boolean' ? (o.default ? 'on' : 'off') : String(o.default);
    return `| \`${o.key}\` | \`--${o.key.replace(/_/g, '-')}\` | ${def} | \`${o.nginx}\` | ${o.help} |`;
  });
  return ['| key | flag | default | nginx | what it does |', '|---|---|---|---|---|', ...rows].join('\n');
}
