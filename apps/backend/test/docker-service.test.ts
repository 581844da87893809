import { afterAll, beforeAll, expect, it } from 'vitest';
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
