/** Saga starts in flight at once: each is a durable write, and together they overlap their round trips. */
export const STARTS_IN_FLIGHT = 32;

/**
 * Runs `work` on every item with at most `limit` calls in flight, so thousands of starts against
 * PostgreSQL overlap their round trips instead of queueing behind each other. After the first
 * failure no new item is taken; the calls in flight settle, then that failure is thrown.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane);
  const results = await Promise.allSettled(lanes);
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (rejected !== undefined) throw rejected.reason;
}
