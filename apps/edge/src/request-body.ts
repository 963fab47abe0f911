import type { IncomingMessage } from 'node:http';
import { BufferChain } from './buffer-chain.js';
import { EdgeClientError } from './errors.js';

export interface BufferedBodyOptions {
  /** 0 = unlimited. */
  readonly maxSize: number;
  readonly memoryLimit: number;
  /** Seconds between two successive reads. */
  readonly timeout: number;
  readonly tempDir: string | null;
}

/**
 * Reads a whole request body into memory, then a temp file (nginx's request buffering). Rejects with
 * EdgeClientError 413 past maxSize and 408 when the client goes silent; resolves null if the client went away.
 */
export function bufferRequestBody(req: IncomingMessage, opts: BufferedBodyOptions): Promise<BufferChain | null> {
  const chain = new BufferChain({ memoryLimit: opts.memoryLimit, maxFileSize: Number.MAX_SAFE_INTEGER, tempDir: opts.tempDir, keep: true });
  return new Promise((resolve, reject) => {
    let total = 0;
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        cleanup();
        chain.destroy();
        reject(new EdgeClientError('TSGI_ERR_EDGE_CLIENT_BODY_TIMEOUT', 408, 'the client sent no request body bytes for client_body_timeout', 'client timed out (110: Connection timed out) while reading client request body'));
      }, opts.timeout * 1000);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (opts.maxSize > 0 && total > opts.maxSize) {
        cleanup();
        chain.destroy();
        req.pause();
        reject(new EdgeClientError('TSGI_ERR_EDGE_BODY_TOO_LARGE', 413, `request body over client_max_body_size (${opts.maxSize} bytes)`, `client intended to send too large chunked body: ${total}+ bytes`));
        return;
      }
      chain.push(chunk);
      arm();
    };
    const onEnd = () => {
      cleanup();
      chain.end();
      resolve(chain);
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      chain.destroy();
      resolve(null);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    arm();
  });
}
