/**
 * The scripts the benchmarks run and a client for POST /api/dry-run that times each call.
 */
import { assertLoopback } from './backend.mjs';

/** Script bodies by name; each is a Custom Logic block expression. */
export const SCRIPTS = {
  // Trivial runs: one output document built from a constant.
  pythonTrivial: { language: 'PYTHON', expression: 'done({"value": 1})' },
  javascriptTrivial: { language: 'JAVASCRIPT', expression: 'done({ value: 1 });' },
  // No done() call, so the service builds no output document: isolates that cost.
  pythonNoOutput: { language: 'PYTHON', expression: 'x = 1' },
  javascriptNoOutput: { language: 'JAVASCRIPT', expression: 'const x = 1;' },
  // A script error: the run ends with status failed.
  pythonError: { language: 'PYTHON', expression: 'raise ValueError("load-test error")' },
  javascriptError: { language: 'JAVASCRIPT', expression: 'throw new Error("load-test error");' },
  // Runs until the script timeout ends it with status timed_out.
  pythonTimeout: { language: 'PYTHON', expression: 'while True:\n    pass' },
  javascriptTimeout: { language: 'JAVASCRIPT', expression: 'while (true) {}' },
};

const INPUT = { documents: [{ value: 1 }] };

/** Builds the request body for one of the SCRIPTS. */
export function dryRunBody(scriptName, extraExpression) {
  const script = SCRIPTS[scriptName];
  if (script === undefined) {
    throw new Error(`Unknown benchmark script "${scriptName}"; expected one of ${Object.keys(SCRIPTS).join(', ')}.`);
  }
  return {
    block: {
      blockType: 'customLogicBlock',
      tag: `bench-${scriptName}`,
      selectedScriptLanguage: script.language,
      expression: extraExpression ?? script.expression,
    },
    input: INPUT,
  };
}

/**
 * Posts one dry run and returns the HTTP status, the run status, the client-side latency
 * and the service's own `durationMs`. A network error or an abort is returned as
 * `httpStatus: 0` with `error`, not thrown.
 */
export async function postDryRun(baseUrl, body, { signal } = {}) {
  const url = new URL('api/dry-run', baseUrl).href;
  assertLoopback(url);
  const startedAt = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    const payload = await response.json().catch(() => undefined);
    return {
      httpStatus: response.status,
      retryAfter: response.headers.get('retry-after'),
      runStatus: payload?.status,
      errorType: payload?.error?.type ?? payload?.error?.code,
      errorMessage: typeof payload?.error?.message === 'string' ? payload.error.message.slice(0, 300) : undefined,
      durationMs: payload?.durationMs,
      packageLoadMs: payload?.packageLoadMs,
      packages: payload?.packages,
      latencyMs: performance.now() - startedAt,
    };
  } catch (error) {
    return { httpStatus: 0, error: error.name === 'AbortError' ? 'aborted' : error.message, latencyMs: performance.now() - startedAt };
  }
}
