export { decide } from "./decide.js";
export type { Decision } from "./decide.js";
export { createInitialState } from "./initial-state.js";
export type { NewSagaParams } from "./initial-state.js";
export { backoffDelayMs, retryDelayMs } from "./backoff.js";
