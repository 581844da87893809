/**
 * Closed-loop clients: each sends one request, waits for the answer, then sends the next,
 * until a time window or a request budget runs out.
 */

/**
 * Runs `clients` concurrent loops of `sendRequest(signal, clientIndex)` for `windowMs`.
 * Requests still open when the window closes are aborted, so every phase ends within
 * `windowMs` plus the time the aborts take. Returns every result with its `finishedAtMs`
 * (relative to the start) and whether it finished inside the window.
 */
export async function runClosedLoop({ clients, windowMs, maxRequests = Number.POSITIVE_INFINITY, sendRequest }) {
  const startedAt = performance.now();
  const windowEnd = new AbortController();
  const timer = setTimeout(() => windowEnd.abort(), windowMs);
  const results = [];
  let sent = 0;

  const loop = async (clientIndex) => {
    while (!windowEnd.signal.aborted && sent < maxRequests) {
      sent += 1;
      const result = await sendRequest(windowEnd.signal, clientIndex);
      const finishedAtMs = performance.now() - startedAt;
      results.push({ ...result, clientIndex, finishedAtMs, inWindow: finishedAtMs <= windowMs && result.error !== 'aborted' });
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, index) => loop(index)));
  clearTimeout(timer);
  return { results, elapsedMs: Math.min(performance.now() - startedAt, windowMs), sent };
}
