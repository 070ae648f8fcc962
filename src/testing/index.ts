// The test kit users import: an in-memory store and a clock they control.
export { ManualClock } from "./manual-clock.js";
export { createMemoryStore, MemoryStore, type MemoryStoreOptions } from "../store/memory/index.js";
