// The example participants as three HTTP services (payments, inventory, shipping), each with its own SQLite file.
export { startParticipantService } from "./start-participant-service.js";
export type { RunningParticipantService, StartParticipantServiceOptions } from "./start-participant-service.js";
export { openParticipantApp } from "./participant-app.js";
export type { ParticipantAppOptions } from "./participant-app.js";
export { ParticipantServiceName, isParticipantServiceName } from "./service-name.js";
export { parseServiceArgs, SERVICE_USAGE } from "./service-args.js";
export { IDEMPOTENCY_KEY_HEADER } from "./service-problems.js";
export { MAX_IDEMPOTENCY_KEY_LENGTH } from "./participant-call.js";
export type { ServiceLedger, ServiceLedgerEntry } from "./service-ledger.js";
