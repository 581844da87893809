import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productVersion } from '../src/version.js';
import {
  EXAMPLE_EXPECTED_RESULT,
  EXAMPLE_POLICY,
  EXAMPLE_PYTHON_TAG,
  EXAMPLE_TEST_INPUT,
} from '../src/policies/example-policy.js';
import { startTestService, type TestService } from './support/test-service.js';

const guardianPythonPolicy = {
  name: 'Guardian export with a Python block',
  policyTag: 'Tag_1712345678901',
  topicDescription: 'Methodology',
  policyRoles: ['Registrant'],
  codeVersion: '1.5.1',
  config: {
    id: 'c3f0',
    blockType: 'interfaceContainerBlock',
    permissions: ['ANY_ROLE'],
    uiMetaData: { type: 'blank' },
    children: [
      {
        id: '9d11',
        tag: 'py_calc',
        blockType: 'customLogicBlock',
        permissions: ['OWNER'],
        defaultActive: false,
        onErrorAction: 'no-action',
        selectedScriptLanguage: 'PYTHON',
        expression:
          "subject = documents[0]['document']['credentialSubject'][0]\ndebug('area', subject['area'])\ndone({'total': subject['area'] * subject['factor']})",
        outputSchema: '',
        unsigned: true,
        passOriginal: false,
        documentSigner: '',
        idType: 'UUID',
        artifacts: [],
        someGuardianOnlyField: { keep: true },
        children: [],
        events: [],
      },
    ],
  },
};

describe('output documents', () => {
  let service: TestService;
  let examplePolicyId: string;

  beforeAll(async () => {
    service = await startTestService();
    const list = await service.api.get('/api/policies');
    examplePolicyId = list.body.find((policy: { name: string }) => policy.name === EXAMPLE_POLICY.name).id;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('carry guardianVersion and validate against the output schema', async () => {
    const response = await service.api
      .post(`/api/policies/${examplePolicyId}/blocks/${EXAMPLE_PYTHON_TAG}/dry-run`)
      .send({ input: EXAMPLE_TEST_INPUT })
      .expect(200);

    expect(response.body.status).toBe('completed');
    expect(response.body.outputs).toHaveLength(EXAMPLE_EXPECTED_RESULT.length);
    for (const [index, document] of response.body.outputs.entries()) {
      const subject = document.credentialSubject[0];
      expect(subject.guardianVersion).toBe(productVersion);
      expect(subject.emissionReductions).toBe(EXAMPLE_EXPECTED_RESULT[index]!.emissionReductions);
      expect(subject.policyId).toBe(examplePolicyId);
    }
  });

  it('name the JSON pointer of a schema violation', async () => {
    const response = await service.api
      .post(`/api/policies/${examplePolicyId}/blocks/${EXAMPLE_PYTHON_TAG}/dry-run`)
      .send({
        block: {
          blockType: 'customLogicBlock',
          selectedScriptLanguage: 'PYTHON',
          outputSchema: '#EmissionReductionReport',
          unsigned: true,
          expression:
            "done({'projectId': 'p', 'period': 'q', 'baselineEmissions': 'lots', 'projectEmissions': 1, 'leakageEmissions': 1, 'emissionReductions': 1})",
        },
        input: { documents: [] },
      })
      .expect(200);

    expect(response.body.status).toBe('failed');
    expect(response.body.error.type).toBe('OutputValidationError');
    expect(response.body.error.message).toContain('/baselineEmissions');
  });
});

describe('policy schemas API', () => {
  let service: TestService;
  let examplePolicyId: string;

  beforeAll(async () => {
    service = await startTestService();
    const list = await service.api.get('/api/policies');
    examplePolicyId = list.body.find((policy: { name: string }) => policy.name === EXAMPLE_POLICY.name).id;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('lists loaded schemas with guardianVersion as a read-only field', async () => {
    const response = await service.api.get(`/api/policies/${examplePolicyId}/schemas`).expect(200);
    const field = response.body[0].properties.guardianVersion;
    expect(field.type).toBe('string');
    expect(field.readOnly).toBe(true);
  });

  it('adds guardianVersion to a new schema and bumps the policy version', async () => {
    const policy = await service.api.get(`/api/policies/${examplePolicyId}`);
    const created = await service.api
      .post(`/api/policies/${examplePolicyId}/schemas`)
      .set('If-Match', policy.headers.etag as string)
      .send({ title: 'Site visit', type: 'object', properties: { visitor: { type: 'string' } } })
      .expect(201);

    expect(created.body.$id).toMatch(/^#/);
    expect(created.body.properties.guardianVersion.readOnly).toBe(true);
    expect(created.headers.etag).toBe(`"${policy.body.version + 1}"`);
  });

  it('rejects a schema that is not an object schema', async () => {
    const policy = await service.api.get(`/api/policies/${examplePolicyId}`);
    const response = await service.api
      .post(`/api/policies/${examplePolicyId}/schemas`)
      .set('If-Match', policy.headers.etag as string)
      .send({ type: 'array' })
      .expect(400);
    expect(response.body.error.message).toContain('"array"');
  });
});

describe('Guardian interoperability', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });

  afterAll(async () => {
    await service?.close();
  });

  it('imports, dry-runs and exports a Guardian policy with a Python block', async () => {
    const imported = await service.api.post('/api/policies/import').send(guardianPythonPolicy).expect(201);
    const run = await service.api
      .post(`/api/policies/${imported.body.id}/blocks/py_calc/dry-run`)
      .send({ input: { documents: [{ area: 12, factor: 0.5 }] } })
      .expect(200);
    expect(run.body.status).toBe('completed');
    expect(run.body.results[0].value).toEqual({ total: 6 });

    const exported = await service.api.get(`/api/policies/${imported.body.id}/export`).expect(200);
    expect(exported.body).toEqual(guardianPythonPolicy);
  });

  it('answers a JSON-input block dry run in Guardian shape', async () => {
    const imported = await service.api.post('/api/policies/import').send(guardianPythonPolicy).expect(201);
    const block = guardianPythonPolicy.config.children[0];
    const response = await service.api
      .post(`/api/v1/policies/${imported.body.id}/dry-run/block`)
      .send({
        block,
        data: { type: 'json', input: 'RunEvent', output: 'RunEvent', document: { area: 10, factor: 2 } },
      })
      .expect(200);

    expect(Object.keys(response.body).sort()).toEqual(['errors', 'input', 'logs', 'output']);
    expect(response.body.errors).toEqual([]);
    expect(response.body.logs[0]).toBe('area 10');
    expect(response.body.logs[1]).toMatch(/^warning: .*wrapped/);
    expect(response.body.output[0].credentialSubject[0].total).toBe(20);
    expect(response.body.input[0].credentialSubject[0]).toEqual({ area: 10, factor: 2 });
  });

  it('reports a script error in Guardian shape with its line', async () => {
    const imported = await service.api.post('/api/policies/import').send(guardianPythonPolicy).expect(201);
    const block = { ...guardianPythonPolicy.config.children[0], expression: 'x = 1\nraise ValueError("bad factor")' };
    const response = await service.api
      .post(`/api/v1/policies/${imported.body.id}/dry-run/block`)
      .send({ block, data: { type: 'json', document: { area: 1 } } })
      .expect(200);
    expect(response.body.errors).toEqual(['ValueError: bad factor (line 2)']);
  });
});
