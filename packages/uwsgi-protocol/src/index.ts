export { UwsgiProtocolError, isUwsgiProtocolError } from './errors.js';
export type { UwsgiErrorCode, UwsgiProtocolErrorOptions } from './errors.js';
export {
  MAX_DATASIZE,
  MODIFIER1_PING,
  MODIFIER1_RESPONSE,
  MODIFIER1_SIGNAL,
  MODIFIER1_WSGI,
  MODIFIER1_WSGI_STRIP_SCRIPT_NAME,
  SIGNAL_DELIVERED,
  SIGNAL_REJECTED,
  decodeVars,
  decodeVarsView,
  encodeHeader,
  encodePacket,
  encodePing,
  encodePong,
  encodeSignal,
  encodeVars,
  varsToEnviron,
} from './codec.js';
export type { DecodeVarsOptions, EncodePacketOptions, VarValue, VarsInput } from './codec.js';
export { UwsgiVars } from './vars.js';
export type { Environ, VarPair } from './vars.js';
export { DEFAULT_BUFFER_SIZE, DEFAULT_MAX_VARS, UwsgiRequestParser, parseContentLength } from './parser.js';
export type { UwsgiParseResult, UwsgiRequestHead, UwsgiRequestParserOptions } from './parser.js';
export { UwsgiBodyStream, createBodyStream } from './body-stream.js';
export type { BodyFraming, BodyStreamOptions } from './body-stream.js';
export { ChunkedDecoder } from './chunked.js';
export { EMPTY_REQUEST_LOG_TEXT, classifyRequest, stripScriptName } from './classify.js';
export type { UwsgiRequestKind } from './classify.js';
export { formatAddress, parseAddress } from './address.js';
export type { UwsgiAddress } from './address.js';
export { findHeadEnd, parseResponseHead } from './response-head.js';
export type { HeaderPair, ResponseFraming, ResponseHead } from './response-head.js';
export { uwsgiRequest } from './client.js';
export type { RequestBody, UwsgiRequestOptions, UwsgiResponse } from './client.js';
export { ping, sendSignal } from './control.js';
export type { ControlOptions, PingResult } from './control.js';
export { documentUri, nginxUwsgiVars } from './nginx-vars.js';
export type { NginxUwsgiVarsOptions } from './nginx-vars.js';
