export { definitionKey } from "./saga-store.js";
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
} from "./saga-store.js";
