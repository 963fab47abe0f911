import diagnosticsChannel from 'node:diagnostics_channel';

/** A client request reached a location: `{ req, location }`. */
export const requestStart = diagnosticsChannel.channel('tsgi:edge:request:start');
/** A client request is done (logged): `{ req, status, bytes, seconds, upstream }`. */
export const requestEnd = diagnosticsChannel.channel('tsgi:edge:request:end');
/** An upstream server is about to be tried: `{ req, server, try }`. */
export const upstreamStart = diagnosticsChannel.channel('tsgi:edge:upstream:start');
/** An upstream returned a response head: `{ req, server, status, buffering }`. */
export const upstreamResponse = diagnosticsChannel.channel('tsgi:edge:upstream:response');
/** An upstream failed: `{ req, server, error }` (error is an EdgeUpstreamError). */
export const upstreamError = diagnosticsChannel.channel('tsgi:edge:upstream:error');
/** A buffered response started spilling to a temp file: `{ req }`. */
export const tempFile = diagnosticsChannel.channel('tsgi:edge:buffer:temp-file');
/** A client request was refused before reaching a location (400/408/413/431): `{ status, code }`. */
export const clientError = diagnosticsChannel.channel('tsgi:edge:client:error');
/** The configuration was reloaded (SIGHUP): `{ ok, error? }`. */
export const reload = diagnosticsChannel.channel('tsgi:edge:reload');
