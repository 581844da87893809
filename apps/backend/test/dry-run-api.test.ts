import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLE_EXPECTED_RESULT,
  EXAMPLE_JAVASCRIPT_TAG,
  EXAMPLE_POLICY,
  EXAMPLE_PYTHON_TAG,
  EXAMPLE_TEST_INPUT,
} from '../src/policies/example-policy.js';
import { startTestService, type TestService } from './support/test-service.js';

const expectedDebug = [
  ['2024-Q1', { generatedMWh: 3600, dieselTonnes: 3 }],
  ['2024-Q2', { generatedMWh: 2850, dieselTonnes: 3.2 }],
];

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) {
    value = { a: value };
  }
  return value;
}

describe('POST /api/policies/:id/blocks/:tag/dry-run', () => {
  let service: TestService;
  let examplePolicyId: string;

  beforeAll(async () => {
    service = await startTestService({
      PYTHON_SANDBOX_TIMEOUT_MS: '3000',
      JAVASCRIPT_TIMEOUT_MS: '3000',
      DRY_RUN_BLOCK_TIMEOUT_MS: '20000',
    });
    const list = await service.api.get('/api/policies').expect(200);
    examplePolicyId = list.body.find((policy: { name: string }) => policy.name === EXAMPLE_POLICY.name).id;
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each([EXAMPLE_PYTHON_TAG, EXAMPLE_JAVASCRIPT_TAG])('example block %s computes the reductions', async (tag) => {
    const response = await service.api
      .post(`/api/policies/${examplePolicyId}/blocks/${tag}/dry-run`)
      .send({ input: EXAMPLE_TEST_INPUT })
      .expect(200);

    expect(response.body.status).toBe('completed');
    expect(response.body.results).toEqual([{ value: EXAMPLE_EXPECTED_RESULT, final: true }]);
    expect(response.body.debug).toEqual(expectedDebug);
    expect(response.body.language).toBe(tag === EXAMPLE_PYTHON_TAG ? 'PYTHON' : 'JAVASCRIPT');
  });

  it('runs an unsaved block configuration instead of the saved one', async () => {
    const response = await service.api
      .post(`/api/policies/${examplePolicyId}/blocks/${EXAMPLE_PYTHON_TAG}/dry-run`)
      .send({
        block: { blockType: 'customLogicBlock', selectedScriptLanguage: 'PYTHON', expression: "done({'draft': True})" },
        input: { documents: [] },
      })
      .expect(200);
    expect(response.body.results[0].value).toEqual({ draft: true });
  });

  it('answers 404 for an unknown block tag', async () => {
    const response = await service.api
      .post(`/api/policies/${examplePolicyId}/blocks/no_such_tag/dry-run`)
      .send({ input: { documents: [] } })
      .expect(404);
    expect(response.body.error.message).toContain('no_such_tag');
  });

  it('answers 422 for a block that is not Custom Logic', async () => {
    await service.api
      .post(`/api/policies/${examplePolicyId}/blocks/root/dry-run`)
      .send({ input: { documents: [] } })
      .expect(422);
  });

  it('answers 400 when documents is not an array', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({ block: { blockType: 'customLogicBlock', expression: '' }, input: { documents: 'nope' } })
      .expect(400);
    expect(response.body.error.message).toContain('input.documents');
  });

  it('answers 422 for input nested deeper than 64 levels', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({ block: { blockType: 'customLogicBlock', expression: 'done({ ok: 1 })' }, input: { documents: [], user: nested(65) } })
      .expect(422);
    expect(response.body.error.message).toContain('64 levels');
    expect(response.body.error.details.path).toMatch(/^\$\.user\.a\.a/);
  });

  it('accepts input nested exactly 64 levels deep', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({ block: { blockType: 'customLogicBlock', expression: 'done({ ok: 1 })' }, input: { documents: [], user: nested(63) } })
      .expect(200);
    expect(response.body.status).toBe('completed');
  });

  it('answers 413 for input with more than 100,000 values', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({
        block: { blockType: 'customLogicBlock', expression: 'done({ ok: 1 })' },
        input: { documents: [], sources: Array.from({ length: 100_001 }, (_, index) => index) },
      })
      .expect(413);
    expect(response.body.error.message).toContain('100000');
  });
});

describe('dry-run timeouts', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({
      PYTHON_SANDBOX_TIMEOUT_MS: '2000',
      JAVASCRIPT_TIMEOUT_MS: '2000',
      DRY_RUN_BLOCK_TIMEOUT_MS: '10000',
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each([
    ['PYTHON', 'while True:\n    pass', "done({'after': 1})"],
    ['JAVASCRIPT', 'while (true) {}', 'done({ after: 1 });'],
    ['PYTHON', 'import asyncio\nawait asyncio.sleep(3600)\ndone({})', "done({'after': 1})"],
    ['JAVASCRIPT', 'await new Promise(() => {});', 'done({ after: 1 });'],
  ])('%s busy or waiting script times out while health answers', async (language, script, nextScript) => {
    const block = { blockType: 'customLogicBlock', selectedScriptLanguage: language, expression: script };
    const startedAt = Date.now();
    const run = service.api.post('/api/dry-run').send({ block, input: { documents: [] } });
    const runResult = run.then((response) => response);

    // The API keeps serving requests while the script spins.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const health = await service.api.get('/api/health').timeout(1500).expect(200);
    expect(health.body.version).toBeDefined();

    const response = await runResult;
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('timed_out');
    expect(response.body.error.type).toBe('TimeoutError');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2000);

    const next = await service.api
      .post('/api/dry-run')
      .send({ block: { ...block, expression: nextScript }, input: { documents: [] } })
      .expect(200);
    expect(next.body.status).toBe('completed');
    expect(next.body.results[0].value).toEqual({ after: 1 });
  });

  it('keeps what a script emitted before it timed out', async () => {
    const response = await service.api
      .post('/api/dry-run')
      .send({
        block: {
          blockType: 'customLogicBlock',
          selectedScriptLanguage: 'PYTHON',
          expression: "debug('before the loop')\ndone({'partial': 1}, False)\nwhile True:\n    pass",
        },
        input: { documents: [] },
      })
      .expect(200);
    expect(response.body.status).toBe('timed_out');
    expect(response.body.debug).toEqual([['before the loop']]);
    expect(response.body.results).toEqual([{ value: { partial: 1 }, final: false }]);
  });
});

describe('GET /api/health', () => {
  it('reports version, mode and readiness', async () => {
    const service = await startTestService();
    try {
      const response = await service.api.get('/api/health').expect(200);
      expect(response.body).toMatchObject({ status: 'ok', pythonMode: 'pyodide', ready: true });
      expect(response.body.version).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      await service.close();
    }
  });
});
