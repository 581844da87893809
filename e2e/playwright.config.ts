import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig, type PlaywrightTestConfig } from '@playwright/test';

// The product as a user gets it: the built backend serving the built editor, on
// loopback, with a data directory of its own. Build first (npm run build).
const pyodidePort = Number(process.env.E2E_PORT ?? 4319);
const dockerPort = pyodidePort + 1;
// DOCKER_TESTS=1 (exported by scripts/test-all.sh once the engine and the sandbox image
// are ready) adds a second server in Docker mode and runs the @python tests against it too.
const withDocker = process.env.DOCKER_TESTS === '1';

// Playwright loads this file in the runner and again in each worker, so the directory
// is created once and handed on through the environment.
process.env.E2E_DATA_DIR ??= mkdtempSync(path.join(tmpdir(), 'pls-e2e-'));
const dataDir = process.env.E2E_DATA_DIR;

type WebServer = NonNullable<Exclude<PlaywrightTestConfig['webServer'], unknown[]>>;

function backendServer(port: number, pythonMode: 'pyodide' | 'docker'): WebServer {
  return {
    command: 'node --no-node-snapshot ../apps/backend/dist/main.js',
    url: `http://127.0.0.1:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    // Without it Playwright kills the server with SIGKILL, and a Docker-mode server then
    // leaves the containers it prepared for its next runs behind.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dataDir, pythonMode),
      LOG_LEVEL: 'warn',
      PYTHON_SANDBOX_MODE: pythonMode,
      // Short bounds so the busy-loop test ends in seconds. The defaults are 120 s and 180 s.
      PYTHON_SANDBOX_TIMEOUT_MS: '8000',
      JAVASCRIPT_TIMEOUT_MS: '8000',
      DRY_RUN_BLOCK_TIMEOUT_MS: '30000',
    },
  };
}

export default defineConfig({
  testDir: './tests',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  // Files run in parallel, the tests of one file in order. Every test creates its own
  // policy, so two workers share one server safely, and the Pyodide pool queues extra runs.
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download is not available offline.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    {
      name: 'pyodide',
      use: { baseURL: `http://127.0.0.1:${pyodidePort}` },
      metadata: { pythonMode: 'pyodide' },
    },
    ...(withDocker
      ? [
          {
            name: 'docker',
            grep: /@python/,
            use: { baseURL: `http://127.0.0.1:${dockerPort}` },
            metadata: { pythonMode: 'docker' },
          },
        ]
      : []),
  ],
  webServer: withDocker
    ? [backendServer(pyodidePort, 'pyodide'), backendServer(dockerPort, 'docker')]
    : backendServer(pyodidePort, 'pyodide'),
});
