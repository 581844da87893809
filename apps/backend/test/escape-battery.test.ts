import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxEvent } from '@policy-logic-studio/shared';
import { PyodideRunner } from '../src/execution/pyodide/pyodide-runner.js';
import type { RunnerOutcome } from '../src/execution/runner.js';
import {
  EXAMPLE_EXPECTED_RESULT,
  EXAMPLE_POLICY,
  EXAMPLE_PYTHON_TAG,
  EXAMPLE_TEST_INPUT,
} from '../src/policies/example-policy.js';
import { makeRequest, summarize, type RunSummary } from './support/python-runtime-cases.js';

/**
 * Attempts to leave the Pyodide sandbox, each with the outcome the sandbox must give.
 * Every attempt runs in its own interpreter; after each one, a normal script must
 * still return the right result.
 */

const SECRET_ENV_NAME = 'PLS_ESCAPE_BATTERY_SECRET';
const SECRET_ENV_VALUE = `env-secret-${process.pid}-${Date.now()}`;
const SECRET_FILE_CONTENT = `file-secret-${process.pid}-${Date.now()}`;
const ATTEMPT_TIMEOUT_MS = 30_000;
const BUSY_TIMEOUT_MS = 2_000;
// Two runs, each of which may wait for a fresh interpreter on a busy machine.
const ATTEMPT_TEST_TIMEOUT_MS = 120_000;

interface Attempt {
  name: string;
  script: string;
  limits?: Parameters<typeof makeRequest>[1]['limits'];
  timeoutMs?: number;
  /**
   * `error`: the run ends with a sandbox:error (of `errorType`, whose message contains `messageContains`).
   * `contained`: the run may complete, and `check` proves it reached nothing.
   * `timed_out` / `crashed`: the runner outcome.
   */
  expected: 'error' | 'contained' | 'timed_out' | 'crashed';
  errorType?: string;
  messageContains?: string;
  check?: (run: AttemptRun) => void;
}

interface AttemptRun {
  outcome: RunnerOutcome;
  events: SandboxEvent[];
  summary: RunSummary;
}

// From Python to JavaScript's Function constructor: done() keeps the runtime's emit
// callback, a JsProxy, in its closure.
const JS_FUNCTION = [
  'api = done.__closure__[0].cell_contents',
  'JsFunction = api._sink._emit.constructor',
  '',
].join('\n');

function jsImport(moduleName: string): string {
  return `${JS_FUNCTION}mod = await JsFunction('return import("${moduleName}")')()\n`;
}

let secretDir: string;
let secretFile: string;
let forbiddenWritePath: string;
let tcpPort: number;
let tcpConnections = 0;
let tcpServer: net.Server;

function attempts(): Attempt[] {
  return [
    // Stubs and the import hook, directly.
    { name: 'import js', script: 'import js', expected: 'error', errorType: 'ImportError', messageContains: "'js'" },
    { name: 'import pyodide_js', script: 'import pyodide_js', expected: 'error', errorType: 'ImportError' },
    { name: 'import pyodide.http', script: 'import pyodide.http', expected: 'error', errorType: 'ImportError' },
    { name: 'pyodide.http attribute', script: 'import pyodide\npyodide.http.pyfetch', expected: 'error', errorType: 'PermissionError' },
    { name: 'import pyodide.code', script: 'from pyodide.code import run_js', expected: 'error', errorType: 'ImportError' },
    { name: 'import pyodide.ffi', script: 'from pyodide.ffi import create_proxy', expected: 'error', errorType: 'ImportError' },
    { name: 'import pyodide.webloop', script: 'import pyodide.webloop', expected: 'error', errorType: 'ImportError' },
    { name: 'import pyodide.console', script: 'import pyodide.console', expected: 'error', errorType: 'ImportError' },
    { name: 'import micropip', script: 'import micropip', expected: 'error', errorType: 'ImportError' },
    { name: 'import sqlite3', script: 'import sqlite3', expected: 'error', errorType: 'ImportError' },
    { name: 'import ctypes', script: 'import ctypes', expected: 'error', errorType: 'ImportError' },
    { name: 'import _pyodide_core', script: 'import _pyodide_core', expected: 'error', errorType: 'ImportError' },
    { name: 'os.system', script: "import os\nos.system('id')", expected: 'error', errorType: 'PermissionError' },
    { name: 'os.popen', script: "import os\nos.popen('id')", expected: 'error', errorType: 'PermissionError' },
    { name: 'os.execv', script: "import os\nos.execv('/bin/sh', ['sh'])", expected: 'error', errorType: 'PermissionError' },
    { name: 'os.fork', script: 'import os\nos.fork()', expected: 'error', errorType: 'PermissionError' },
    { name: 'os.kill', script: 'import os\nos.kill(1, 9)', expected: 'error', errorType: 'PermissionError' },
    { name: 'subprocess.run', script: "import subprocess\nsubprocess.run(['id'])", expected: 'error', errorType: 'PermissionError' },
    { name: 'subprocess.Popen', script: "import subprocess\nsubprocess.Popen(['id'])", expected: 'error', errorType: 'PermissionError' },
    { name: 'subprocess.check_output', script: "import subprocess\nsubprocess.check_output(['id'])", expected: 'error', errorType: 'PermissionError' },
    { name: 'subprocess.getoutput', script: "import subprocess\nsubprocess.getoutput('id')", expected: 'error', errorType: 'PermissionError' },
    { name: 'socket.socket', script: 'import socket\nsocket.socket()', expected: 'error', errorType: 'PermissionError' },
    { name: 'socket.create_connection', script: `import socket\nsocket.create_connection(('127.0.0.1', ${tcpPort}))`, expected: 'error', errorType: 'PermissionError' },
    { name: 'socket.getaddrinfo', script: "import socket\nsocket.getaddrinfo('localhost', 80)", expected: 'error', errorType: 'PermissionError' },
    { name: 'importlib.reload', script: 'import importlib, os\nimportlib.reload(os)', expected: 'error', errorType: 'PermissionError' },
    {
      name: 'os.environ keeps HOME and PATH only',
      script: 'import os\ndone(sorted(os.environ))',
      expected: 'contained',
      check: (run) => expect(run.summary.results).toEqual([['HOME', 'PATH']]),
    },

    // Bypasses of the Python-level hardening.
    { name: 'importlib.import_module js', script: "import importlib\nimportlib.import_module('js').globalThis", expected: 'error', errorType: 'PermissionError' },
    { name: '__import__ through __builtins__', script: "__builtins__.__import__('js')", expected: 'error', errorType: 'ImportError' },
    { name: 'js removed from sys.modules', script: "import sys\ndel sys.modules['js']\nimport js", expected: 'error', errorType: 'ImportError' },
    {
      name: 'js imported past sys.meta_path',
      script: [
        'import sys, importlib',
        "sys.meta_path[:] = [finder for finder in sys.meta_path if 'Blocked' not in type(finder).__name__]",
        "del sys.modules['js']",
        "js = importlib.import_module('js')",
        "done([name for name in ('process', 'require', 'fetch', 'globalThis') if hasattr(js, name)])",
      ].join('\n'),
      expected: 'contained',
      check: (run) => expect(run.summary.results).toEqual([[]]),
    },
    {
      name: 'original __import__ from the guard closure',
      script: [
        'import builtins, sys',
        'original = builtins.__import__.__closure__[0].cell_contents',
        "sys.meta_path[:] = [finder for finder in sys.meta_path if 'Blocked' not in type(finder).__name__]",
        "del sys.modules['js']",
        "js = original('js')",
        "done(hasattr(js, 'process'))",
      ].join('\n'),
      expected: 'contained',
      check: (run) => expect(run.summary.results).toEqual([false]),
    },
    {
      name: 'Popen recovered by a subclass walk',
      script: [
        "popen = next(c for c in object.__subclasses__() if c.__name__ == 'Popen')",
        "popen(['id'])",
      ].join('\n'),
      expected: 'error',
    },
    {
      name: 'os.system recovered from a module global',
      script: [
        "wrap = next(c for c in object.__subclasses__() if c.__name__ == '_wrap_close')",
        "wrap.__init__.__globals__['system']('id')",
      ].join('\n'),
      expected: 'error',
      errorType: 'PermissionError',
    },
    {
      name: 'socket class recovered by a subclass walk',
      script: [
        'import socket',
        "raw = next(c for c in object.__subclasses__() if c.__module__ == '_socket' and c.__name__ == 'socket')",
        'connection = raw()',
        `connection.connect(('127.0.0.1', ${tcpPort}))`,
        "connection.send(b'hello')",
        'done(1)',
      ].join('\n'),
      expected: 'contained',
      check: () => expect(tcpConnections).toBe(0),
    },
    {
      name: 'ctypes through importlib',
      script: "import importlib\nctypes = importlib.import_module('ctypes')\nlibc = ctypes.CDLL(None)\nlibc.system(b'id')",
      // WebAssembly has no system(): the call aborts the interpreter, which ends only this run.
      expected: 'crashed',
    },
    {
      name: '/proc/self/environ from Python',
      script: "done(open('/proc/self/environ', 'rb').read().decode('latin-1'))",
      expected: 'contained',
    },
    {
      name: 'host file from Python open()',
      script: `done(open(${JSON.stringify('SECRET_FILE')}).read())`,
      expected: 'error',
    },

    // Escapes to JavaScript: Function from a JsProxy, then the host's APIs.
    {
      name: 'process.env from Function',
      script: `${JS_FUNCTION}done(str(JsFunction('return JSON.stringify(process.env)')()))`,
      expected: 'contained',
      check: (run) => expect(run.summary.results).toEqual(['{}']),
    },
    {
      name: 'globalThis from Function lacks fetch',
      script: `${JS_FUNCTION}done(str(JsFunction('return typeof globalThis.fetch')()))`,
      expected: 'contained',
      check: (run) => expect(run.summary.results).toEqual(['undefined']),
    },
    { name: 'read a host file', script: `${jsImport('node:fs')}done(mod.readFileSync(${JSON.stringify('SECRET_FILE')}, 'utf8'))`, expected: 'error', messageContains: 'restricted' },
    { name: 'read /etc/passwd', script: `${jsImport('node:fs')}done(mod.readFileSync('/etc/passwd', 'utf8'))`, expected: 'error', messageContains: 'restricted' },
    { name: 'read /proc/self/environ', script: `${jsImport('node:fs')}done(mod.readFileSync('/proc/self/environ', 'utf8'))`, expected: 'error', messageContains: 'restricted' },
    {
      name: 'write a file',
      script: `${jsImport('node:fs')}mod.writeFileSync(${JSON.stringify('FORBIDDEN_WRITE')}, 'x')`,
      expected: 'error',
      messageContains: 'restricted',
      check: () => expect(existsSync(forbiddenWritePath)).toBe(false),
    },
    { name: 'start a process', script: `${jsImport('node:child_process')}mod.spawnSync('id')`, expected: 'error', messageContains: 'restricted' },
    {
      name: 'process.binding fs',
      script: `${JS_FUNCTION}JsFunction("return process.binding('fs')")()`,
      expected: 'error',
    },
    {
      name: 'signal the API process',
      // The host has its own PID namespace, where this process does not exist.
      script: `${JS_FUNCTION}JsFunction('return process.kill(${process.pid}, "SIGKILL")')()`,
      expected: 'error',
    },
    {
      name: 'TCP connection to the host loopback',
      script: [
        jsImport('node:net'),
        `result = await JsFunction('net', 'return new Promise(r => { const s = net.connect(${tcpPort}, "127.0.0.1"); s.on("connect", () => r("connected")); s.on("error", e => r(e.code)); })')(mod)`,
        'done(str(result))',
      ].join('\n'),
      expected: 'contained',
      check: (run) => {
        expect(run.summary.results).not.toEqual(['connected']);
        expect(tcpConnections).toBe(0);
      },
    },
    {
      name: 'fetch from Function',
      script: `${JS_FUNCTION}await JsFunction('return fetch("http://127.0.0.1:${tcpPort}/")')()`,
      expected: 'error',
      check: () => expect(tcpConnections).toBe(0),
    },

    // Resources.
    { name: 'busy loop', script: 'while True:\n    pass', timeoutMs: BUSY_TIMEOUT_MS, expected: 'timed_out' },
    {
      name: 'WebAssembly memory growth',
      script: 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))',
      expected: 'error',
      errorType: 'MemoryError',
      messageContains: 'memory limit exceeded',
    },
    {
      name: 'JavaScript heap growth',
      script: `${JS_FUNCTION}JsFunction('const kept = []; for (;;) kept.push(new Array(1e6).fill(1.5));')()`,
      expected: 'crashed',
      messageContains: 'memory limit exceeded',
    },
    { name: 'deep recursion', script: 'def f(n):\n    return f(n + 1)\nf(0)', expected: 'error', errorType: 'RecursionError' },
    {
      name: 'huge print',
      script: "for i in range(20000):\n    print('y' * 10000)\ndone(1)",
      expected: 'contained',
      check: (run) => {
        expect(run.summary.stdout.length).toBeLessThan(1_000_100);
        expect(run.summary.stdout).toContain('[output truncated: ');
      },
    },
    { name: 'huge result', script: "done('z' * 50_000_000)", expected: 'error', errorType: 'ValueTooLargeError' },
    {
      name: 'stream of partial results',
      script: 'for i in range(100000):\n    done(i, False)',
      expected: 'contained',
      check: (run) => {
        expect(run.summary.results).toHaveLength(10_000);
        expect(run.summary.warnings.map((warning) => warning.code)).toEqual(['too-many-events']);
      },
    },
    {
      name: 'snapshot copy left in the worker',
      script: `${JS_FUNCTION}kind = await JsFunction('return import("node:worker_threads").then((threads) => typeof threads.workerData.snapshot)')()\ndone(kind)`,
      expected: 'contained',
      check: (run) => {
        expect(run.summary.results).toEqual(['undefined']);
      },
    },
    {
      name: 'event flood past the runtime caps',
      script: `${JS_FUNCTION}emit = api._sink._emit\nfor i in range(200):\n    emit('x' * 1_000_000)`,
      expected: 'crashed',
      messageContains: 'more than',
    },
  ];
}

function resolvePlaceholders(script: string): string {
  return script.replaceAll('SECRET_FILE', secretFile).replaceAll('FORBIDDEN_WRITE', forbiddenWritePath);
}

async function runAttempt(runner: PyodideRunner, script: string, timeoutMs = ATTEMPT_TIMEOUT_MS, limits?: Attempt['limits']): Promise<AttemptRun> {
  const events: SandboxEvent[] = [];
  const outcome = await runner.run(makeRequest(script, { limits }), {
    timeoutMs,
    signal: new AbortController().signal,
    onEvent: (event) => events.push(event),
  });
  return { outcome, events, summary: summarize(events) };
}

function expectOutcome(attempt: Attempt, run: AttemptRun): void {
  switch (attempt.expected) {
    case 'error':
      expect(run.outcome.kind).toBe('exited');
      expect(run.summary.error, 'the attempt should end with a script error').toBeDefined();
      if (attempt.errorType !== undefined) {
        expect(run.summary.error?.type).toBe(attempt.errorType);
      }
      if (attempt.messageContains !== undefined) {
        expect(run.summary.error?.message).toContain(attempt.messageContains);
      }
      break;
    case 'contained':
      expect(run.outcome.kind).toBe('exited');
      break;
    case 'timed_out':
      expect(run.outcome.kind).toBe('timed_out');
      break;
    case 'crashed':
      expect(run.outcome.kind).toBe('crashed');
      if (run.outcome.kind === 'crashed' && attempt.messageContains !== undefined) {
        expect(run.outcome.error.message).toContain(attempt.messageContains);
      }
      break;
  }
}

describe('Pyodide sandbox escape battery', () => {
  let runner: PyodideRunner;
  const hostLog: string[] = [];

  beforeAll(async () => {
    // The runner is created by this process, which plays the API process.
    process.env[SECRET_ENV_NAME] = SECRET_ENV_VALUE;
    secretDir = mkdtempSync(path.join(tmpdir(), 'pls-escape-'));
    secretFile = path.join(secretDir, 'secret.txt');
    forbiddenWritePath = path.join(secretDir, 'written-by-script.txt');
    writeFileSync(secretFile, SECRET_FILE_CONTENT);

    tcpServer = net.createServer((socket) => {
      tcpConnections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcpServer.address() as net.AddressInfo).port;

    // A 16 MB event cap keeps the event-flood attempt short; every other attempt stays far below it.
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hostLog.push(chunk.toString('utf8'));
        callback();
      },
    });
    runner = new PyodideRunner({ poolSize: 2, runOutputMaxChars: 16 * 1024 * 1024, logger: pino({ level: 'warn' }, logStream) });
    await runner.start();
  });

  afterAll(async () => {
    await runner?.close();
    tcpServer?.close();
    rmSync(secretDir, { recursive: true, force: true });
    delete process.env[SECRET_ENV_NAME];
  });

  it('has at least 40 attempts', () => {
    expect(attempts().length).toBeGreaterThanOrEqual(40);
  });

  it('runs in an empty network namespace', () => {
    expect(runner.health().networkIsolation).toBe(true);
  });

  describe.each(
    // The table needs the TCP port, which exists only after beforeAll; names are fixed now.
    attempts().map((attempt) => ({ name: attempt.name })),
  )('$name', ({ name }) => {
    it('ends as expected, leaks nothing, and the next run works', async () => {
      const attempt = attempts().find((candidate) => candidate.name === name)!;
      const run = await runAttempt(runner, resolvePlaceholders(attempt.script), attempt.timeoutMs, attempt.limits);

      expectOutcome(attempt, run);
      attempt.check?.(run);
      const reported = JSON.stringify({ events: run.events, outcome: run.outcome });
      expect(reported).not.toContain(SECRET_ENV_VALUE);
      expect(reported).not.toContain(SECRET_FILE_CONTENT);
      expect(tcpConnections).toBe(0);

      const next = await runAttempt(runner, 'done(sum([1, 2, 3]))');
      expect(next.summary.results).toEqual([6]);
    }, ATTEMPT_TEST_TIMEOUT_MS);
  });

  it('ignores a forged ready report with a snapshot', async () => {
    const snapshotBytes = runner.health().snapshotBytes as number;
    // A zeroed copy of the right size: if the host took it, the next worker to restore it would fail to start.
    const forge = [
      `port.postMessage({ type: 'sandbox:worker-ready', snapshot: new Uint8Array(${snapshotBytes}) })`,
      "return 'sent'",
    ].join('; ');
    const script = `${JS_FUNCTION}sent = await JsFunction('''return import("node:worker_threads").then((threads) => { const port = threads.workerData.eventPort; ${forge} })''')()\ndone(sent)`;
    hostLog.length = 0;

    const forged = await runAttempt(runner, script);
    const followUps = [];
    for (let run = 0; run < 4; run += 1) {
      followUps.push(await runAttempt(runner, `done(${run})`));
    }

    expect(snapshotBytes).toBeGreaterThan(0);
    expect(forged.summary.error).toBeUndefined();
    expect(forged.summary.results).toEqual(['sent']);
    expect(followUps.map((run) => run.summary.results)).toEqual([[0], [1], [2], [3]]);
    expect(hostLog.filter((line) => line.includes('failed before a run'))).toEqual([]);
  }, ATTEMPT_TEST_TIMEOUT_MS);

  it('computes the example policy after the battery', async () => {
    const block = EXAMPLE_POLICY.config.children?.find((child) => child.tag === EXAMPLE_PYTHON_TAG);
    const events: SandboxEvent[] = [];
    const outcome = await runner.run(
      makeRequest(String(block?.expression), { input: { documents: EXAMPLE_TEST_INPUT.documents } }),
      { timeoutMs: ATTEMPT_TIMEOUT_MS, signal: new AbortController().signal, onEvent: (event) => events.push(event) },
    );

    expect(outcome.kind).toBe('exited');
    expect(summarize(events).results).toEqual([EXAMPLE_EXPECTED_RESULT]);
  });

  it('keeps globals of one run out of the next', async () => {
    await runAttempt(runner, "import builtins, sys\nbuiltins.PLANTED = 1\nsys.modules['planted_module'] = sys\ndone(1)");
    const next = await runAttempt(runner, "import builtins, sys\ndone([hasattr(builtins, 'PLANTED'), 'planted_module' in sys.modules])");

    expect(next.summary.results).toEqual([[false, false]]);
  });
});
