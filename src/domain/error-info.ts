/** A thrown error reduced to data, so it can be persisted and shown (G6). */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  /** A participant's own error code, when it gave one. */
  code?: string;
  cause?: ErrorInfo;
}
