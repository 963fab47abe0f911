/**
 * Errors raised by the e2e toolkit. Each has a stable `code`, and a message that says what to do.
 */
export type E2eErrorCode =
  | 'TSGI_ERR_E2E_READY_TIMEOUT'
  | 'TSGI_ERR_E2E_EXITED'
  | 'TSGI_ERR_E2E_LINE_TIMEOUT'
  | 'TSGI_ERR_E2E_PEER_MISSING'
  | 'TSGI_ERR_E2E_PORT'
  | 'TSGI_ERR_E2E_WRK_OUTPUT'
  | 'TSGI_ERR_E2E_WRK_FAILED'
  | 'TSGI_ERR_E2E_NOT_BUILT';

export class E2eError extends Error {
  readonly code: E2eErrorCode;
  constructor(code: E2eErrorCode, message: string) {
    super(message);
    this.name = 'E2eError';
    this.code = code;
  }
}
