import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_POLICY } from '../src/policies/example-policy.js';
import { startTestService, type TestService } from './support/test-service.js';

const guardianPolicy = {
  id: '65f1c1e2a1b2c3d4e5f60718',
  uuid: 'e8a6a1d2-6c0f-4b43-9f3a-2d2b1c9e0f11',
  name: 'Imported Guardian policy',
  description: 'Exported from Guardian',
  topicDescription: 'VM0042',
  policyTag: 'Tag_1700000000000',
  policyRoles: ['Project Proponent', 'VVB'],
  policyGroups: [],
  codeVersion: '1.5.1',
  config: {
    id: 'f1',
    blockType: 'interfaceContainerBlock',
    permissions: ['ANY_ROLE'],
    uiMetaData: { type: 'blank' },
    children: [
      {
        id: 'b2',
        tag: 'calc',
        blockType: 'customLogicBlock',
        defaultActive: false,
        permissions: ['OWNER'],
        onErrorAction: 'no-action',
        expression: "done({'x': 1})",
        selectedScriptLanguage: 'PYTHON',
        outputSchema: '#1234',
        unsigned: true,
        passOriginal: false,
        documentSigner: '',
        idType: 'UUID',
        artifacts: [],
        customFutureField: { nested: [1, 2, 3] },
        children: [],
        events: [{ target: 'x', source: 'calc', input: 'RunEvent', output: 'RunEvent', actor: '', disabled: false }],
      },
    ],
  },
};

describe('policies API', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });

  afterAll(async () => {
    await service?.close();
  });

  it('seeds the example policy on first start', async () => {
    const response = await service.api.get('/api/policies').expect(200);
    expect(response.body.map((policy: { name: string }) => policy.name)).toContain(EXAMPLE_POLICY.name);
  });

  it('creates, reads and lists a policy', async () => {
    const created = await service.api
      .post('/api/policies')
      .send({ name: 'Created', config: { blockType: 'interfaceContainerBlock', children: [] } })
      .expect(201);
    expect(created.body.version).toBe(1);
    expect(created.headers.etag).toBe('"1"');

    const read = await service.api.get(`/api/policies/${created.body.id}`).expect(200);
    expect(read.body.policy.name).toBe('Created');
    const list = await service.api.get('/api/policies').expect(200);
    expect(list.body.some((policy: { id: string }) => policy.id === created.body.id)).toBe(true);
  });

  it('rejects a policy without a name', async () => {
    const response = await service.api.post('/api/policies').send({ config: { blockType: 'x' } }).expect(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.message).toContain('name');
  });

  it('rejects a body that is not JSON', async () => {
    const response = await service.api
      .post('/api/policies')
      .set('Content-Type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect(response.body.error.code).toBe('invalid_json');
  });

  it('updates with the current version and bumps it', async () => {
    const created = await service.api.post('/api/policies').send({ name: 'V', config: { blockType: 'x' } });
    const updated = await service.api
      .put(`/api/policies/${created.body.id}`)
      .set('If-Match', '"1"')
      .send({ name: 'V2', config: { blockType: 'x' } })
      .expect(200);
    expect(updated.body.version).toBe(2);
    expect(updated.body.policy.name).toBe('V2');
  });

  it('answers 412 to a stale If-Match and changes nothing', async () => {
    const created = await service.api.post('/api/policies').send({ name: 'Original', config: { blockType: 'x' } });
    const id = created.body.id as string;
    await service.api.put(`/api/policies/${id}`).set('If-Match', '"1"').send({ name: 'First', config: { blockType: 'x' } });

    const stale = await service.api
      .put(`/api/policies/${id}`)
      .set('If-Match', '"1"')
      .send({ name: 'Second', config: { blockType: 'x' } })
      .expect(412);
    expect(stale.body.error.code).toBe('version_conflict');
    expect(stale.body.error.details).toEqual({ expectedVersion: 1, currentVersion: 2 });

    const stored = await service.api.get(`/api/policies/${id}`).expect(200);
    expect(stored.body.policy.name).toBe('First');
    expect(stored.body.version).toBe(2);
  });

  it('answers 428 to an update without If-Match', async () => {
    const created = await service.api.post('/api/policies').send({ name: 'N', config: { blockType: 'x' } });
    const response = await service.api
      .put(`/api/policies/${created.body.id}`)
      .send({ name: 'N2', config: { blockType: 'x' } })
      .expect(428);
    expect(response.body.error.message).toContain('If-Match');
  });

  it('deletes a policy and then answers 404', async () => {
    const created = await service.api.post('/api/policies').send({ name: 'Doomed', config: { blockType: 'x' } });
    await service.api.delete(`/api/policies/${created.body.id}`).expect(204);
    const response = await service.api.get(`/api/policies/${created.body.id}`).expect(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('imports and exports a Guardian policy with every field kept', async () => {
    const imported = await service.api.post('/api/policies/import').send(guardianPolicy).expect(201);
    const exported = await service.api.get(`/api/policies/${imported.body.id}/export`).expect(200);
    expect(exported.headers['content-disposition']).toContain('attachment');
    expect(exported.body).toEqual(guardianPolicy);
  });

  it('keeps unknown block fields through an update', async () => {
    const imported = await service.api.post('/api/policies/import').send(guardianPolicy).expect(201);
    const edited = structuredClone(guardianPolicy);
    edited.config.children[0]!.expression = "done({'x': 2})";
    await service.api.put(`/api/policies/${imported.body.id}`).set('If-Match', '"1"').send(edited).expect(200);
    const exported = await service.api.get(`/api/policies/${imported.body.id}/export`).expect(200);
    expect(exported.body.config.children[0].customFutureField).toEqual({ nested: [1, 2, 3] });
    expect(exported.body.config.children[0].selectedScriptLanguage).toBe('PYTHON');
  });

  it('answers unknown API routes with a JSON 404', async () => {
    const response = await service.api.get('/api/nothing-here').expect(404);
    expect(response.body.error.code).toBe('not_found');
  });
});

describe('policy storage across restarts', () => {
  it('keeps a saved policy after the service restarts', async () => {
    const first = await startTestService();
    const created = await first.api.post('/api/policies').send({ name: 'Durable', config: { blockType: 'x' } });
    await first.stop();

    const second = await startTestService({}, first.dataDir);
    try {
      const read = await second.api.get(`/api/policies/${created.body.id}`).expect(200);
      expect(read.body.policy.name).toBe('Durable');
      const examples = (await second.api.get('/api/policies')).body.filter(
        (policy: { name: string }) => policy.name === EXAMPLE_POLICY.name,
      );
      expect(examples).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
