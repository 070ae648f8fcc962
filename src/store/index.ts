export { definitionKey } from "./saga-store.js";
export { DEFINITION_NAME_PATTERN, MAX_DEFINITION_BYTES, MAX_DEFINITION_DEPTH, MAX_DEFINITION_VERSION } from "./definition-checks.js";
export type {
  SagaStore,
  InstanceRecord,
  CreateInstanceRequest,
  CreateInstanceResult,
  ListQuery,
  ListPage,
  ClaimRequest,
  ClaimedInstance,
  InboxPayload,
  InboxMessage,
  DeliverOutcome,
  LeaseRef,
  TransitionCommit,
  CommitOutcome,
  WriteBatch,
  WriteBatchResult,
  CreateOutcome,
  StoredDefinition,
  SaveDefinitionOutcome,
} from "./saga-store.js";
