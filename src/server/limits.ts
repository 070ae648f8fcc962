/** Where the API lives under the server's root. */
export const API_PREFIX = "/api/v1";

/** The largest request body the API accepts unless told otherwise (413 above it). */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
