export { Orchestrator } from "./orchestrator.js";
export type { OrchestratorOptions, StartOptions, StartResult, CancelOptions, AnswerOptions, InputOf, AnyDefinition } from "./orchestrator.js";
export type { AttemptInfo, AttemptWrapper, TransitionNotice } from "./saga-driver.js";
export { systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
export { silentLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { toErrorInfo } from "./normalize-error.js";
