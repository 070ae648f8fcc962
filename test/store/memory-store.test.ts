import { createMemoryStore } from "../../src/store/memory/index.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("MemoryStore", () => {
  const store = createMemoryStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});
