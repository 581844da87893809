// Measure the time of a trivial Docker-mode run: `docker run --rm` of the image through
// the CLI (the baseline) against DockerRunner, sequentially, on the same engine.
//
// Usage (after `npm run build -w packages/shared && npm run build -w apps/backend`):
//   node sandbox-image/bench.mjs [runs]
// Environment: DOCKER_SOCKET_PATH and PYTHON_SANDBOX_IMAGE, read like the service does
// (environment, then .env, then .env.defaults).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runnerModule = path.join(repositoryRoot, 'apps/backend/dist/execution/docker/docker-runner.js');
const { DockerRunner } = await import(pathToFileURL(runnerModule).href);
const dotenv = (await import('dotenv')).default;

function configuredValue(name) {
  if (process.env[name]) {
    return process.env[name];
  }
  for (const file of ['.env', '.env.defaults']) {
    const filePath = path.join(repositoryRoot, file);
    const value = existsSync(filePath) ? dotenv.parse(readFileSync(filePath))[name] : undefined;
    if (value) {
      return value;
    }
  }
  return undefined;
}

const runs = Number(process.argv[2] ?? 10);
const socketPath = configuredValue('DOCKER_SOCKET_PATH') ?? '/var/run/docker.sock';
const image = configuredValue('PYTHON_SANDBOX_IMAGE') ?? 'policy-logic-studio/python-sandbox:latest';

function trivialRequest() {
  return {
    runId: randomUUID(),
    script: "done({'ok': True})",
    prelude: '',
    input: { documents: [], user: null, artifacts: [], sources: [], tables: {} },
    limits: { stdoutMaxChars: 1_000_000, valueMaxBytes: 5_000_000, maxEvents: 10_000 },
  };
}

function summarize(name, durationsMs) {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  console.log(
    `${name.padEnd(22)} runs=${sorted.length} median=${median.toFixed(0)}ms mean=${mean.toFixed(0)}ms min=${sorted[0].toFixed(0)}ms max=${sorted.at(-1).toFixed(0)}ms`,
  );
}

function timeCliRun() {
  const started = performance.now();
  execFileSync(
    'docker',
    [
      '-H', `unix://${socketPath}`, 'run', '--rm', '-i',
      '--network=none', '--cap-drop=ALL', '--security-opt=no-new-privileges', '--read-only',
      '--user=1001:1001', '--log-driver=none', '--pull=never',
      '--tmpfs', '/tmp:rw,noexec,nosuid,size=64m',
      '--memory=512m', '--memory-swap=512m', '--cpus=1', '--pids-limit=128',
      image,
    ],
    { input: `${JSON.stringify(trivialRequest())}\n`, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return performance.now() - started;
}

async function timeRunnerRun(runner) {
  const started = performance.now();
  const events = [];
  const outcome = await runner.run(trivialRequest(), {
    timeoutMs: 30_000,
    signal: new AbortController().signal,
    onEvent: (event) => events.push(event),
  });
  if (outcome.kind !== 'exited' || !events.some((event) => event.type === 'sandbox:done')) {
    throw new Error(`trivial run failed: ${JSON.stringify({ outcome, events })}`);
  }
  return performance.now() - started;
}

const runner = new DockerRunner({ socketPath, image, memory: '512m', cpus: 1, pids: 128 });

// One warm-up run of each, so the first container start does not skew the numbers.
timeCliRun();
await timeRunnerRun(runner);

const cliDurations = [];
const runnerDurations = [];
for (let i = 0; i < runs; i += 1) {
  cliDurations.push(timeCliRun());
  runnerDurations.push(await timeRunnerRun(runner));
}
await runner.close();

summarize('docker run --rm (CLI)', cliDurations);
summarize('DockerRunner', runnerDurations);
