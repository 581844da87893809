/**
 * Closed-loop clients: each sends one request, waits for the response, then sends the next,
 * until a time window or a request budget runs out.
 */

/**
 * Runs `clients` concurrent loops of `sendRequest(signal, clientIndex)`. No request starts
 * after `windowMs`. Requests still open `drainMs` later are aborted through `signal`, so a
 * call ends within `windowMs + drainMs` plus the time the aborts take. Returns every result
 * with its `finishedAtMs` (relative to the start) and whether it finished inside the window.
 */
export async function runClosedLoop({ clients, windowMs, drainMs = 0, maxRequests = Number.POSITIVE_INFINITY, sendRequest }) {
  const startedAt = performance.now();
  let sending = true;
  const hardStop = new AbortController();
  const windowTimer = setTimeout(() => {
    sending = false;
  }, windowMs);
  const hardStopTimer = setTimeout(() => hardStop.abort(), windowMs + drainMs);
  const results = [];
  let sent = 0;

  const loop = async (clientIndex) => {
    while (sending && sent < maxRequests) {
      sent += 1;
      const result = await sendRequest(hardStop.signal, clientIndex);
      const finishedAtMs = performance.now() - startedAt;
      results.push({ ...result, clientIndex, finishedAtMs, inWindow: finishedAtMs <= windowMs && result.error !== 'aborted' });
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, index) => loop(index)));
  clearTimeout(windowTimer);
  clearTimeout(hardStopTimer);
  return { results, elapsedMs: Math.min(performance.now() - startedAt, windowMs), sent };
}
