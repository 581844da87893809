import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  EXAMPLE_EXPECTED_RESULT,
  EXAMPLE_POLICY,
  EXAMPLE_PYTHON_TAG,
  EXAMPLE_TEST_INPUT,
} from '../src/policies/example-policy.js';
import { describeWithDocker, image, listSandboxContainers, probeDocker, socketPath } from './docker-support.js';
import { startTestService, type TestService } from './support/test-service.js';

/** The whole service in Docker mode: HTTP dry runs of Python blocks through real containers. */

const probe = await probeDocker();

function pythonBlock(expression: string) {
  return { blockType: 'customLogicBlock', tag: 'docker_block', selectedScriptLanguage: 'PYTHON', expression };
}

describeWithDocker('POST /api/dry-run in Docker mode', probe, () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({
      PYTHON_SANDBOX_MODE: 'docker',
      DOCKER_SOCKET_PATH: socketPath,
      PYTHON_SANDBOX_IMAGE: image,
      PYTHON_SANDBOX_TIMEOUT_MS: '3000',
      JAVASCRIPT_TIMEOUT_MS: '3000',
      DRY_RUN_BLOCK_TIMEOUT_MS: '20000',
      PYTHON_SANDBOX_MEMORY: '128m',
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('returns results with mode docker', async () => {
    const script = [
      "subject = documents[0]['document']['credentialSubject'][0]",
      "debug('input', subject)",
      "print('printed')",
      "done({'doubled': subject['value'] * 2})",
    ].join('\n');
    const response = await service.api
      .post('/api/dry-run')
      .send({ block: pythonBlock(script), input: { documents: [{ value: 21 }] } })
      .expect(200);

    expect(response.body.status).toBe('completed');
    expect(response.body.mode).toBe('docker');
    expect(response.body.results).toEqual([{ value: { doubled: 42 }, final: true }]);
    expect(response.body.debug).toEqual([['input', { value: 21 }]]);
    expect(response.body.stdout).toContain('printed');
    expect(response.body.outputs).toHaveLength(1);
  });

  it('imports a library that only the image has', async () => {
    const script = "import rasterio\ndone({'gdal': rasterio.__gdal_version__ != ''})";
    const response = await service.api.post('/api/dry-run').send({ block: pythonBlock(script), input: { documents: [] } }).expect(200);

    expect(response.body.error).toBeUndefined();
    expect(response.body.results).toEqual([{ value: { gdal: true }, final: true }]);
  });

  it('reports a script error with its line', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({ block: pythonBlock("x = 1\nraise ValueError('bad input')"), input: { documents: [] } })
      .expect(200);

    expect(response.body.status).toBe('failed');
    expect(response.body.error.type).toBe('ValueError');
    expect(response.body.error.line).toBe(2);
  });

  it('times out a busy loop', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({ block: pythonBlock('while True:\n    pass'), input: { documents: [] } })
      .expect(200);

    expect(response.body.status).toBe('timed_out');
    expect(await listSandboxContainers({ runId: response.body.runId })).toEqual([]);
  });

  it('reports the memory limit', async () => {
    const script = 'blocks = []\nwhile True:\n    blocks.append(bytearray(10_000_000))';
    const response = await service.api.post('/api/dry-run').send({ block: pythonBlock(script), input: { documents: [] } }).expect(200);

    expect(response.body.status).toBe('failed');
    expect(response.body.error.type).toBe('MemoryLimitExceeded');
    expect(response.body.error.message).toBe('memory limit exceeded (128m)');
  });
});

describeWithDocker('Docker mode run queue', probe, () => {
  it('returns 503 with Retry-After when the queue is full', async () => {
    const service = await startTestService({
      PYTHON_SANDBOX_MODE: 'docker',
      DOCKER_SOCKET_PATH: socketPath,
      PYTHON_SANDBOX_IMAGE: image,
      PYTHON_SANDBOX_MAX_CONCURRENT_RUNS: '1',
      PYTHON_SANDBOX_MAX_QUEUED_RUNS: '0',
    });
    try {
      const running = service.api
        .post('/api/dry-run')
        .send({ block: pythonBlock("import time\ntime.sleep(3)\ndone({'slow': True})"), input: { documents: [] } })
        .then((response) => response);
      await expect.poll(async () => (await service.api.get('/api/health')).body.python.activeRuns, { timeout: 10_000 }).toBe(1);

      const rejected = await service.api.post('/api/dry-run').send({ block: pythonBlock("done({})"), input: { documents: [] } });

      expect(rejected.status).toBe(503);
      expect(Number(rejected.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(rejected.body.error.code).toBe('busy');
      expect(rejected.body.error.message).toContain('PYTHON_SANDBOX_MAX_QUEUED_RUNS');
      const finished = await running;
      expect(finished.status).toBe(200);
      expect(finished.body.results).toEqual([{ value: { slow: true }, final: true }]);
    } finally {
      await service.close();
    }
  });

  it('reports the prepared containers in the health check', async () => {
    const service = await startTestService({
      PYTHON_SANDBOX_MODE: 'docker',
      DOCKER_SOCKET_PATH: socketPath,
      PYTHON_SANDBOX_IMAGE: image,
      PYTHON_SANDBOX_PREPARED_CONTAINERS: '2',
    });
    try {
      await expect.poll(async () => (await service.api.get('/api/health')).body.python.preparedContainers, { timeout: 20_000 }).toBe(2);
    } finally {
      await service.close();
    }
  });
});

describeWithDocker('example policy in Docker mode', probe, () => {
  it('returns the same results as in Pyodide mode', async () => {
    const docker = await startTestService({ PYTHON_SANDBOX_MODE: 'docker', DOCKER_SOCKET_PATH: socketPath, PYTHON_SANDBOX_IMAGE: image });
    const pyodide = await startTestService();
    try {
      const results = [];
      for (const service of [docker, pyodide]) {
        const list = await service.api.get('/api/policies').expect(200);
        const policyId = list.body.find((policy: { name: string }) => policy.name === EXAMPLE_POLICY.name).id;
        const response = await service.api
          .post(`/api/policies/${policyId}/blocks/${EXAMPLE_PYTHON_TAG}/dry-run`)
          .send({ input: EXAMPLE_TEST_INPUT })
          .expect(200);
        expect(response.body.status).toBe('completed');
        results.push({ mode: response.body.mode, results: response.body.results, debug: response.body.debug });
      }

      expect(results.map((entry) => entry.mode)).toEqual(['docker', 'pyodide']);
      expect(results[0]!.results).toEqual([{ value: EXAMPLE_EXPECTED_RESULT, final: true }]);
      expect(results[0]!.results).toEqual(results[1]!.results);
      expect(results[0]!.debug).toEqual(results[1]!.debug);
    } finally {
      await Promise.all([docker.close(), pyodide.close()]);
    }
  });
});

/**
 * Relays a Unix socket to the engine's socket. Closing it makes the engine unreachable
 * for the service exactly as a stopped engine does, without stopping the shared engine.
 */
async function startSocketRelay(relayPath: string): Promise<{ close: () => Promise<void> }> {
  const connections = new Set<net.Socket>();
  // Half-open sockets, because the engine keeps sending a container's output after the
  // client has closed its stdin.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const engine = net.connect({ path: socketPath, allowHalfOpen: true });
    connections.add(client).add(engine);
    client.pipe(engine).pipe(client);
    const drop = () => {
      client.destroy();
      engine.destroy();
    };
    client.on('error', drop).on('close', () => connections.delete(client));
    engine.on('error', drop).on('close', () => connections.delete(engine));
  });
  await new Promise<void>((resolve) => server.listen(relayPath, resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describeWithDocker('Docker engine outage', probe, () => {
  it('fails fast while the engine is away and recovers without a restart', async () => {
    const relayPath = path.join(mkdtempSync(path.join(tmpdir(), 'pls-relay-')), 'docker.sock');
    let relay = await startSocketRelay(relayPath);
    const service = await startTestService({ PYTHON_SANDBOX_MODE: 'docker', DOCKER_SOCKET_PATH: relayPath, PYTHON_SANDBOX_IMAGE: image });
    const block = pythonBlock("done({'ok': True})");
    try {
      const before = await service.api.post('/api/dry-run').send({ block, input: { documents: [] } }).expect(200);
      expect(before.body.status).toBe('completed');

      await relay.close();
      const during = await service.api.post('/api/dry-run').send({ block, input: { documents: [] } }).expect(200);
      // Failed with the engine's error, not timed_out: the run did not wait for its timeout.
      expect(during.body.status).toBe('failed');
      expect(during.body.error.message).toContain(`Docker engine not reachable at ${relayPath}`);
      // Health may cache its engine probe for a moment; it must report the outage soon after.
      await expect
        .poll(async () => (await service.api.get('/api/health')).body.python.ready, { timeout: 10_000 })
        .toBe(false);

      relay = await startSocketRelay(relayPath);
      const after = await service.api.post('/api/dry-run').send({ block, input: { documents: [] } }).expect(200);
      expect(after.body.status).toBe('completed');
      expect(after.body.results[0].value).toEqual({ ok: true });
    } finally {
      await service.close();
      await relay.close();
    }
  });
});
