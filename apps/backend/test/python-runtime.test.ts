import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import { pythonRuntimePath } from '../src/paths.js';
import {
  CONVERSION_RULES,
  PYTHON_CASES,
  conversionScript,
  expectCaseResult,
  makeRequest,
  summarize,
} from './support/python-runtime-cases.js';

interface CPythonRun {
  events: SandboxEvent[];
  /** Lines of stdout that were not JSON events. */
  strayLines: string[];
  exitCode: number | null;
}

/** Runs runtime.py the way Docker mode does: request on stdin, one JSON event per stdout line. */
function runWithCPython(request: SandboxRunRequest | string): Promise<CPythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [path.basename(pythonRuntimePath)], {
      cwd: path.dirname(pythonRuntimePath),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const events: SandboxEvent[] = [];
      const strayLines: string[] = [];
      for (const line of stdout.split('\n').filter((entry) => entry !== '')) {
        try {
          events.push(JSON.parse(line) as SandboxEvent);
        } catch {
          strayLines.push(line);
        }
      }
      resolve({ events, strayLines, exitCode });
    });
    child.stdin.end(typeof request === 'string' ? request : JSON.stringify(request));
  });
}

describe('runtime.py under CPython', () => {
  for (const testCase of PYTHON_CASES.filter((entry) => !entry.needsTimeout)) {
    it(testCase.name, async () => {
      const run = await runWithCPython(makeRequest(testCase.script, testCase));

      expect(run.exitCode).toBe(0);
      expect(run.strayLines).toEqual([]);
      expectCaseResult(summarize(run.events), testCase.expected, expect);
    });
  }

  it('converts every value with the JSON rules', async () => {
    const run = await runWithCPython(makeRequest(conversionScript()));
    const summary = summarize(run.events);

    expect(summary.error).toBeUndefined();
    CONVERSION_RULES.forEach((rule, index) => {
      expect(summary.results[index], rule.name).toEqual(rule.json);
    });
  });

  it('keeps writes to fd 1 out of the event stream', async () => {
    const run = await runWithCPython(makeRequest("import os\nos.write(1, b'not an event\\n')\ndone(1)"));

    expect(run.strayLines).toEqual([]);
    expect(summarize(run.events).results).toEqual([1]);
  });

  it('reports an invalid request as an error event', async () => {
    const run = await runWithCPython('not json');

    expect(run.events).toHaveLength(1);
    expect(run.events[0]?.type).toBe('sandbox:error');
  });
});
