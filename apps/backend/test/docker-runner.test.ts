import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '@policy-logic-studio/shared';
import { ServiceBusyError } from '../src/errors.js';
import { DockerRunner } from '../src/execution/docker/docker-runner.js';
import {
  createRunner,
  describeWithDocker,
  docker,
  image,
  listPreparedContainers,
  listSandboxContainers,
  makeRequest,
  probeDocker,
  runScript,
} from './docker-support.js';

const probe = await probeDocker();
const suite = `docker-runner-${process.pid}`;

function vcRecord(subject: Record<string, JsonValue>): JsonValue {
  return {
    document: {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      type: ['VerifiableCredential'],
      credentialSubject: [subject],
    },
  };
}

describeWithDocker('DockerRunner', probe, () => {
  let runner: DockerRunner;

  beforeAll(() => {
    runner = createRunner(suite);
  });

  afterAll(async () => {
    await runner.close();
    expect(await listSandboxContainers({ suite })).toEqual([]);
  });

  it('returns values passed to done', async () => {
    const run = await runScript(runner, "done({'a': 'nan', 'b': 'Hello,\\nAn offer', 'c': 'NaN', 'd': 'To Infinity and beyond'})");

    expect(run.outcome).toEqual({ kind: 'exited' });
    expect(run.error).toBeUndefined();
    expect(run.results).toEqual([{ a: 'nan', b: 'Hello,\nAn offer', c: 'NaN', d: 'To Infinity and beyond' }]);
    expect(run.events.at(-1)?.type).toBe('sandbox:complete');
  });

  it('gives input documents as native Python values', async () => {
    const script = [
      "d = documents[0]['document']['credentialSubject'][0]",
      "done({'keys': sorted(d), 'b_is_none': d['b'] is None})",
    ].join('\n');
    const run = await runScript(runner, script, { input: { documents: [vcRecord({ a: 1, b: null })] } });

    expect(run.results).toEqual([{ keys: ['a', 'b'], b_is_none: true }]);
  });

  it('replaces NaN and Infinity with null and warns', async () => {
    const run = await runScript(runner, "done({'x': float('inf'), 'y': float('nan'), 'z': 1.5})");

    expect(run.results).toEqual([{ x: null, y: null, z: 1.5 }]);
    const warningText = run.warnings.map((warning) => warning.message).join('\n');
    expect(warningText).toContain('$.x');
    expect(warningText).toContain('$.y');
  });

  it('converts datetimes to ISO 8601', async () => {
    const script = [
      'from datetime import datetime, date, timezone',
      "done({'ts': datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), 'd': date(2024, 1, 2), 'y': datetime.strptime('2024-03-05', '%Y-%m-%d').year})",
    ].join('\n');
    const run = await runScript(runner, script);

    expect(run.results).toEqual([{ ts: '2024-01-02T03:04:05+00:00', d: '2024-01-02', y: 2024 }]);
  });

  it('converts numpy scalars and arrays', async () => {
    const script = [
      'import numpy as np',
      "done({'n': np.int64(7), 'a': np.arange(3), 'f': np.float32(0.5), 'b': np.bool_(True)})",
    ].join('\n');
    const run = await runScript(runner, script);

    expect(run.error).toBeUndefined();
    expect(run.results).toEqual([{ n: 7, a: [0, 1, 2], f: 0.5, b: true }]);
  });

  it.each([
    'scipy', 'sympy', 'pandas', 'pint', 'cftime', 'astropy', 'statsmodels', 'networkx', 'sklearn',
    'xarray', 'geopandas', 'rasterio', 'rioxarray', 'matplotlib.pyplot', 'dateutil', 'six',
  ])('imports %s from the image', async (moduleName) => {
    const run = await runScript(runner, `import ${moduleName}\ndone({'imported': True})`);

    expect(run.error).toBeUndefined();
    expect(run.results).toEqual([{ imported: true }]);
  });

  it('computes with pandas', async () => {
    const script = [
      'import pandas as pd',
      "frame = pd.DataFrame({'site': ['a', 'b'], 'co2': [1.5, 2.5]})",
      "done({'total': frame['co2'].sum(), 'sites': frame['site'].tolist()})",
    ].join('\n');
    const run = await runScript(runner, script);

    expect(run.error).toBeUndefined();
    expect(run.results).toEqual([{ total: 4, sites: ['a', 'b'] }]);
  });

  it('reports a runtime error with its line', async () => {
    const script = ["cs = documents[0]['document']['credentialSubject'][0]", 'x = 1', "y = cs['missing']", "done({'y': y})"].join('\n');
    const run = await runScript(runner, script, { input: { documents: [vcRecord({ present: 1 })] } });

    expect(run.outcome).toEqual({ kind: 'exited' });
    expect(run.error?.type).toBe('KeyError');
    expect(run.error?.line).toBe(3);
    expect(run.error?.message).toContain('missing');
  });

  it('reports a syntax error with its line', async () => {
    const run = await runScript(runner, 'x = 1\ndef f(:\n    pass');

    expect(run.error?.type).toBe('SyntaxError');
    expect(run.error?.line).toBe(2);
  });

  it('survives deep recursion and runs again', async () => {
    const failing = await runScript(runner, 'def f(n):\n    return f(n + 1)\nf(0)');
    expect(failing.error?.type).toBe('RecursionError');

    const next = await runScript(runner, "done({'ok': True})");
    expect(next.results).toEqual([{ ok: true }]);
  });

  it('passes every done call with its final flag', async () => {
    // Dropping results after the final one is the dry-run service's rule; the runner forwards all.
    const run = await runScript(runner, "done({'first': 1}, False)\ndone({'second': 2})\ndone({'third': 3})");

    const doneEvents = run.events.filter((event) => event.type === 'sandbox:done');
    expect(doneEvents).toEqual([
      { type: 'sandbox:done', final: false, value: { first: 1 } },
      { type: 'sandbox:done', final: true, value: { second: 2 } },
      { type: 'sandbox:done', final: true, value: { third: 3 } },
    ]);
  });

  it('passes every debug value', async () => {
    const run = await runScript(runner, "debug('a', 1, {'x': 1})\ndone({})");

    expect(run.debug).toEqual([['a', 1, { x: 1 }]]);
  });

  it('caps a print flood and still returns the result', async () => {
    const run = await runScript(runner, "for i in range(100000):\n    print('x' * 1000)\ndone({'ok': True})", {
      limits: { stdoutMaxChars: 10_000 },
    });

    expect(run.results).toEqual([{ ok: true }]);
    expect(run.stdout.length).toBeLessThan(12_000);
    expect(run.stdout.length).toBeGreaterThanOrEqual(10_000);
    expect(run.stdout).toMatch(/drop|truncat|omit/i);
  });

  it('streams events before the run ends', async () => {
    const arrivals: { type: string; at: number }[] = [];
    const started = Date.now();
    const outcome = await runner.run(makeRequest("import time\ndebug('early')\ntime.sleep(1.5)\ndone({})"), {
      timeoutMs: 20_000,
      signal: new AbortController().signal,
      onEvent: (event) => arrivals.push({ type: event.type, at: Date.now() - started }),
    });

    expect(outcome).toEqual({ kind: 'exited' });
    const debugAt = arrivals.find((arrival) => arrival.type === 'sandbox:debug')?.at;
    const doneAt = arrivals.find((arrival) => arrival.type === 'sandbox:done')?.at;
    expect(debugAt).toBeDefined();
    expect(doneAt).toBeDefined();
    // The sleep separates the two events, so the debug event cannot come with the done event.
    expect(doneAt! - debugAt!).toBeGreaterThanOrEqual(1_000);
  });

  it('times out a busy loop and removes its container', async () => {
    const run = await runScript(runner, 'while True:\n    pass', { timeoutMs: 2_000 });

    expect(run.outcome).toEqual({ kind: 'timed_out', timeoutMs: 2_000 });
    expect(await listSandboxContainers({ runId: run.runId })).toEqual([]);
  });

  it('times out an awaited sleep', async () => {
    const run = await runScript(runner, 'import asyncio\nawait asyncio.sleep(3600)\ndone({})', { timeoutMs: 2_000 });

    expect(run.outcome).toEqual({ kind: 'timed_out', timeoutMs: 2_000 });
    expect(run.results).toEqual([]);
  });

  it('keeps output printed before a timeout', async () => {
    const run = await runScript(runner, "print('before the loop')\nwhile True:\n    print('tick')", { timeoutMs: 2_000 });

    expect(run.outcome.kind).toBe('timed_out');
    expect(run.stdout).toContain('before the loop');
  });

  it('cancels a run when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_000);
    const run = await runScript(runner, 'import time\ntime.sleep(60)', { signal: controller.signal, timeoutMs: 30_000 });

    expect(run.outcome).toEqual({ kind: 'cancelled' });
    expect(await listSandboxContainers({ runId: run.runId })).toEqual([]);
  });

  it.each([0, 20, 50, 100, 200, 400])('cancels a run aborted after %i ms', async (delayMs) => {
    // Depending on the engine's speed the abort lands while the container is created,
    // attached, started or running; every one of these must end as cancelled.
    const controller = new AbortController();
    setTimeout(() => controller.abort(), delayMs);
    const run = await runScript(runner, 'import time\ntime.sleep(30)', { signal: controller.signal, timeoutMs: 30_000 });

    expect(run.outcome).toEqual({ kind: 'cancelled' });
    expect(await listSandboxContainers({ runId: run.runId })).toEqual([]);
  });

  it('returns cancelled at once for an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = await runScript(runner, "done({})", { signal: controller.signal });

    expect(run.outcome).toEqual({ kind: 'cancelled' });
    expect(run.events).toEqual([]);
  });

  it('ends a run whose thread outlives the script', async () => {
    // A non-daemon thread keeps CPython alive after the last event; the runner stops it.
    const script = ['import threading, time', 'threading.Thread(target=time.sleep, args=(600,)).start()', "done({'ok': True})"].join('\n');
    const run = await runScript(runner, script, { timeoutMs: 30_000 });

    expect(run.outcome).toEqual({ kind: 'exited' });
    expect(run.results).toEqual([{ ok: true }]);
  });

  it('runs several scripts at the same time', async () => {
    const runs = await Promise.all([1, 2, 3].map((n) => runScript(runner, `done({'n': ${n}})`)));

    expect(runs.map((run) => run.results)).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
  });

  it('queues runs beyond maxConcurrentRuns', async () => {
    const serial = createRunner(suite, { maxConcurrentRuns: 1 });
    const order: string[] = [];
    const script = "import time\ndebug('started')\ntime.sleep(1)\ndone({})";
    const runOne = (name: string) =>
      serial.run(makeRequest(script), {
        timeoutMs: 20_000,
        signal: new AbortController().signal,
        onEvent: (event) => order.push(`${name} ${event.type}`),
      });

    const outcomes = await Promise.all([runOne('first'), runOne('second')]);

    expect(outcomes).toEqual([{ kind: 'exited' }, { kind: 'exited' }]);
    expect(order).toEqual([
      'first sandbox:debug', 'first sandbox:done', 'first sandbox:complete',
      'second sandbox:debug', 'second sandbox:done', 'second sandbox:complete',
    ]);
    await serial.close();
  });

  it('cancels a queued run when its signal aborts', async () => {
    const serial = createRunner(suite, { maxConcurrentRuns: 1 });
    const controller = new AbortController();
    const blocking = runScript(serial, "import time\ntime.sleep(3)\ndone({})");
    const queued = runScript(serial, "done({'queued': True})", { signal: controller.signal });
    controller.abort();

    const queuedRun = await queued;
    expect(queuedRun.outcome).toEqual({ kind: 'cancelled' });
    expect(queuedRun.events).toEqual([]);
    expect((await blocking).outcome).toEqual({ kind: 'exited' });
    await serial.close();
  });

  it('reports a memory limit kill with the limit', async () => {
    const small = createRunner(suite, { memory: '96m' });
    const run = await runScript(small, 'blocks = []\nwhile True:\n    blocks.append(bytearray(10_000_000))');

    expect(run.outcome.kind).toBe('crashed');
    if (run.outcome.kind === 'crashed') {
      expect(run.outcome.error.type).toBe('MemoryLimitExceeded');
      expect(run.outcome.error.message).toBe('memory limit exceeded (96m)');
    }
    await small.close();
  });

  it('reports health with the image packages', async () => {
    const health = await runner.health();

    expect(health.ready).toBe(true);
    expect(health.image).toBe(image);
    expect(health.imagePackages).toMatchObject({ packages: { numpy: expect.any(String) } });
  });
});

/** The container's hostname, which Docker sets to the first 12 characters of its id. */
const HOSTNAME_SCRIPT = "done({'hostname': open('/etc/hostname').read().strip()})";

function hostnameOf(run: Awaited<ReturnType<typeof runScript>>): string {
  expect(run.error).toBeUndefined();
  return (run.results[0] as { hostname: string }).hostname;
}

describeWithDocker('DockerRunner prepared containers', probe, () => {
  const preparedSuite = `docker-prepared-${process.pid}`;

  afterAll(async () => {
    expect(await listSandboxContainers({ suite: preparedSuite })).toEqual([]);
  });

  /** Wait until the runner has `count` containers ready (created, attached, watched) and list them. */
  async function preparedIds(runner: DockerRunner, count: number): Promise<string[]> {
    await expect.poll(async () => (await runner.health()).preparedContainers, { timeout: 20_000 }).toBe(count);
    const ids = await listPreparedContainers(preparedSuite);
    expect(ids).toHaveLength(count);
    return ids;
  }

  it('runs in a container created before the run', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 1 });
    try {
      runner.prepareContainers();
      const [preparedId] = await preparedIds(runner, 1);

      const run = await runScript(runner, HOSTNAME_SCRIPT);

      expect(run.outcome).toEqual({ kind: 'exited' });
      expect(preparedId!.startsWith(hostnameOf(run))).toBe(true);
      // The engine removes the container after the result was returned.
      await expect.poll(() => listSandboxContainers({ runId: run.runId }), { timeout: 10_000 }).toEqual([]);
    } finally {
      await runner.close();
    }
  });

  it('names the prepared container after its run', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 1 });
    try {
      runner.prepareContainers();
      const [preparedId] = await preparedIds(runner, 1);
      const request = makeRequest("import time\ndebug('started')\ntime.sleep(2)\ndone({})");
      let namedWhileRunning: string[] = [];
      const outcome = await runner.run(request, {
        timeoutMs: 20_000,
        signal: new AbortController().signal,
        onEvent: (event) => {
          if (event.type === 'sandbox:debug') {
            void listSandboxContainers({ runId: request.runId }).then((ids) => (namedWhileRunning = ids));
          }
        },
      });

      expect(outcome).toEqual({ kind: 'exited' });
      expect(namedWhileRunning).toEqual([preparedId]);
    } finally {
      await runner.close();
    }
  });

  it('never gives one container to two runs', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 2 });
    try {
      runner.prepareContainers();
      await preparedIds(runner, 2);

      const concurrent = await Promise.all([1, 2, 3, 4].map(() => runScript(runner, HOSTNAME_SCRIPT)));
      const sequential = [await runScript(runner, HOSTNAME_SCRIPT), await runScript(runner, HOSTNAME_SCRIPT)];

      const hostnames = [...concurrent, ...sequential].map(hostnameOf);
      expect(new Set(hostnames).size).toBe(6);
    } finally {
      await runner.close();
    }
  });

  it('replaces a used container in the background', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 2 });
    try {
      runner.prepareContainers();
      const before = await preparedIds(runner, 2);

      await runScript(runner, "done({})");

      const after = await preparedIds(runner, 2);
      expect(after.filter((id) => before.includes(id))).toHaveLength(1);
      expect((await runner.health()).preparedContainers).toBe(2);
    } finally {
      await runner.close();
    }
  });

  it('creates the sandbox settings on a prepared container', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 1, memory: '256m', cpus: 0.5, pids: 64 });
    try {
      runner.prepareContainers();
      const [preparedId] = await preparedIds(runner, 1);

      const info = await docker.getContainer(preparedId!).inspect();

      expect(info.State.Status).toBe('created');
      expect(info.Config.Labels['policy-logic-studio.sandbox']).toBe('1');
      expect(info.Config.User).toBe('1001:1001');
      expect(info.Config.NetworkDisabled).toBe(true);
      expect(info.Config.OpenStdin).toBe(true);
      expect(info.Config.StdinOnce).toBe(true);
      const host = info.HostConfig;
      expect(host.NetworkMode).toBe('none');
      expect(host.CapDrop).toEqual(['ALL']);
      expect(host.SecurityOpt).toEqual(['no-new-privileges']);
      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.Tmpfs).toEqual({ '/tmp': 'rw,noexec,nosuid,size=64m' });
      expect(host.Memory).toBe(256 * 1024 ** 2);
      expect(host.MemorySwap).toBe(256 * 1024 ** 2);
      expect(host.NanoCpus).toBe(500_000_000);
      expect(host.PidsLimit).toBe(64);
      expect(host.IpcMode).toBe('private');
      expect(host.LogConfig).toEqual({ Type: 'none', Config: {} });
      expect(host.AutoRemove).toBe(true);
    } finally {
      await runner.close();
    }
  });

  it('creates a container when the prepared one was removed', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 1 });
    try {
      runner.prepareContainers();
      const [preparedId] = await preparedIds(runner, 1);
      await docker.getContainer(preparedId!).remove({ force: true });

      const run = await runScript(runner, HOSTNAME_SCRIPT);

      expect(run.outcome).toEqual({ kind: 'exited' });
      expect(preparedId!.startsWith(hostnameOf(run))).toBe(false);
    } finally {
      await runner.close();
    }
  });

  it('removes the prepared containers on close', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 3 });
    runner.prepareContainers();
    await preparedIds(runner, 3);

    await runner.close();

    expect(await listSandboxContainers({ suite: preparedSuite })).toEqual([]);
  });

  it('waits for pending removals on close', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 1 });
    const runs = await Promise.all([1, 2, 3].map((n) => runScript(runner, `done({'n': ${n}})`)));

    await runner.close();

    expect(runs.map((run) => run.outcome)).toEqual([{ kind: 'exited' }, { kind: 'exited' }, { kind: 'exited' }]);
    expect(await listSandboxContainers({ suite: preparedSuite })).toEqual([]);
  });

  it('creates every container on demand with 0 prepared', async () => {
    const runner = createRunner(preparedSuite, { preparedContainers: 0 });
    try {
      runner.prepareContainers();
      const run = await runScript(runner, "done({'ok': True})");

      expect(run.results).toEqual([{ ok: true }]);
      expect(await listPreparedContainers(preparedSuite)).toEqual([]);
      expect((await runner.health()).preparedContainers).toBe(0);
    } finally {
      await runner.close();
    }
  });

  it('rejects a run beyond maxQueuedRuns', async () => {
    const runner = createRunner(preparedSuite, { maxConcurrentRuns: 1, maxQueuedRuns: 1 });
    try {
      const running = runScript(runner, "import time\ntime.sleep(2)\ndone({})");
      const queued = runScript(runner, "done({'queued': True})");

      const rejected = runScript(runner, "done({})");

      await expect(rejected).rejects.toBeInstanceOf(ServiceBusyError);
      const error = (await rejected.catch((caught: unknown) => caught)) as ServiceBusyError;
      expect(error.status).toBe(503);
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      await expect(rejected).rejects.toThrow(/PYTHON_SANDBOX_MAX_QUEUED_RUNS/);
      expect((await running).outcome).toEqual({ kind: 'exited' });
      expect((await queued).results).toEqual([{ queued: true }]);
    } finally {
      await runner.close();
    }
  });
});

describe('DockerRunner without an engine', () => {
  it('fails at once when no engine responds', async () => {
    const runner = createRunner(suite, { socketPath: '/nonexistent/docker.sock' });
    runner.prepareContainers();
    const run = await runScript(runner, "done({})");

    expect(run.outcome.kind).toBe('crashed');
    if (run.outcome.kind === 'crashed') {
      expect(run.outcome.error.type).toBe('SandboxUnavailable');
      expect(run.outcome.error.message).toMatch(/^Docker engine not reachable at \/nonexistent\/docker\.sock: /);
    }
    const health = await runner.health();
    expect(health.ready).toBe(false);
    expect(health.detail).toContain('/nonexistent/docker.sock');
    await runner.close();
  });

  it('rejects invalid limits naming the option', () => {
    expect(() => createRunner(suite, { memory: 'lots' })).toThrow(/memory is invalid: "lots"/);
    expect(() => createRunner(suite, { cpus: 0 })).toThrow(/cpus is invalid/);
    expect(() => createRunner(suite, { pids: 2 })).toThrow(/pids is invalid/);
    expect(() => createRunner(suite, { maxConcurrentRuns: 0 })).toThrow(/maxConcurrentRuns is invalid/);
    expect(() => createRunner(suite, { maxQueuedRuns: -1 })).toThrow(/maxQueuedRuns is invalid/);
    expect(() => createRunner(suite, { preparedContainers: 1.5 })).toThrow(/preparedContainers is invalid/);
  });
});

describeWithDocker('DockerRunner without its image', probe, () => {
  it('names the missing image and the build command', async () => {
    const runner = createRunner(suite, { image: 'policy-logic-studio/no-such-image:missing' });
    runner.prepareContainers();
    const run = await runScript(runner, "done({})");

    expect(run.outcome.kind).toBe('crashed');
    if (run.outcome.kind === 'crashed') {
      expect(run.outcome.error.type).toBe('SandboxImageMissing');
      expect(run.outcome.error.message).toContain('policy-logic-studio/no-such-image:missing');
      expect(run.outcome.error.message).toContain('npm run sandbox:build');
    }
    const health = await runner.health();
    expect(health.ready).toBe(false);
    expect(health.detail).toContain('npm run sandbox:build');
    await runner.close();
  });
});
