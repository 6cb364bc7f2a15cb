/**
 * Runs `task` on every item with at most `limit` running at once, the
 * results in the items' order. (A Limiter bounds what many callers run at
 * once; this bounds one call's items, and stops them at its first failure.)
 *
 * The first failure stops new items from starting and aborts the signal
 * the running ones were given, so they end promptly; it is thrown once they
 * have ended, so no request of the call is still out when the caller has its
 * answer.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, task: (item: T, signal: AbortSignal) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const stop = new AbortController();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, stop.signal);
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return results;
}
