import { afterEach, beforeEach, describe } from "vitest";
import type { SagaStore } from "../../src/store/saga-store.js";
import { describeBatchCases } from "./conformance-batch.js";
import { describeClaimCases } from "./conformance-claim.js";
import { describeCommitCases } from "./conformance-commit.js";
import { describeCreateCases } from "./conformance-create.js";
import { describeDefinitionCases } from "./conformance-definitions.js";
import { describeInboxAndLeaseCases } from "./conformance-inbox.js";
import { describeListCases } from "./conformance-list.js";

/** What an adapter may do differently within the contract. */
export interface ConformanceOptions {
  /**
   * Writes keep the caller's objects by reference (the memory store): the contract lets them,
   * since callers never mutate a state they wrote; only the read calls must return copies.
   */
  keepsWrittenObjects?: boolean;
}

/** A store under test and how to dispose of it (close it, remove its files). */
export interface StoreUnderTest {
  store: SagaStore;
  cleanup(): Promise<void>;
}

/**
 * The behaviour every `SagaStore` adapter must show, run against a fresh store per test.
 *
 * @example
 * describeStoreConformance("MemoryStore", async () => {
 *   const store = createMemoryStore();
 *   return { store, cleanup: () => store.close() };
 * });
 */
export function describeStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>, options: ConformanceOptions = {}): void {
  describe(`${name} conforms to SagaStore`, () => {
    let current: StoreUnderTest | undefined;
    const store = (): SagaStore => {
      if (current === undefined) throw new Error("no store: beforeEach did not run");
      return current.store;
    };
    beforeEach(async () => {
      current = await makeStore();
    });
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    describeCreateCases(store, options);
    describeClaimCases(store);
    describeCommitCases(store);
    describeBatchCases(store);
    describeInboxAndLeaseCases(store);
    describeListCases(store);
    describeDefinitionCases(store);
  });
}
