// The test kit users import: an in-memory store and a clock they control.
export { ManualClock } from "./manual-clock.js";
export { createMemoryStore, MemoryStore } from "../store/memory/index.js";
