import { describe, expect, it } from 'vitest';
import { sampleObject, schemaFields, schemaFromJson, schemaFromRows, type PolicySchema } from '../src/schemas/schema-fields.js';
import { withTables } from '../src/test-run/test-input.js';

const GUARDIAN_VERSION = {
  type: 'string',
  readOnly: true,
  $comment: '{"term":"guardianVersion","isSystemField":true}',
};

const report: PolicySchema = {
  iri: '#Report',
  title: 'Report',
  type: 'object',
  properties: {
    guardianVersion: GUARDIAN_VERSION,
    policyId: { type: 'string', $comment: '{"term":"policyId","isSystemField":true}' },
    projectId: { type: 'string' },
    reportedOn: { type: 'string', format: 'date' },
    netMWh: { type: 'number' },
    units: { type: 'integer' },
    audited: { type: 'boolean' },
    readings: { type: 'array', items: { type: 'number' } },
    methodology: { type: 'string', enum: ['AMS-I.D', 'ACM0002'] },
    site: { type: 'object', properties: { country: { type: 'string' }, capacityMW: { type: 'number' } } },
  },
};

const NOW = new Date('2026-03-15T10:20:30.000Z');

describe('schemaFields', () => {
  it('marks readOnly and isSystemField fields', () => {
    const fields = schemaFields({ ...report, required: ['projectId'] });
    expect(fields.find((field) => field.name === 'guardianVersion')).toEqual({
      name: 'guardianVersion',
      type: 'string',
      required: false,
      system: true,
    });
    expect(fields.find((field) => field.name === 'policyId')?.system).toBe(true);
    expect(fields.find((field) => field.name === 'projectId')).toMatchObject({ required: true, system: false });
    expect(fields.find((field) => field.name === 'reportedOn')?.type).toBe('string (date)');
  });

  it('ignores a non-JSON $comment', () => {
    expect(schemaFields({ properties: { note: { type: 'string', $comment: 'free text' } } })[0]?.system).toBe(false);
  });
});

describe('sampleObject', () => {
  it('fills all non-system fields by type', () => {
    expect(sampleObject(report, NOW)).toEqual({
      projectId: 'example',
      reportedOn: '2026-03-15',
      netMWh: 0,
      units: 0,
      audited: false,
      readings: [],
      methodology: 'AMS-I.D',
      site: { country: 'example', capacityMW: 0 },
    });
  });

  it('fills only required fields', () => {
    expect(sampleObject({ ...report, required: ['netMWh', 'guardianVersion', 'missing'] }, NOW)).toEqual({ netMWh: 0 });
  });

  it('follows nested required lists', () => {
    const nested = { properties: { site: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, name: { type: 'string' } } } } };
    expect(sampleObject(nested, NOW)).toEqual({ site: { id: 0 } });
  });
});

describe('schemaFromRows', () => {
  it('builds a create request body', () => {
    const result = schemaFromRows(' Meter reading ', [
      { name: 'meterId', type: 'string', required: true },
      { name: 'readOn', type: 'date', required: false },
    ]);
    expect(result).toEqual({
      ok: true,
      schema: {
        title: 'Meter reading',
        type: 'object',
        properties: { meterId: { type: 'string' }, readOn: { type: 'string', format: 'date' } },
        required: ['meterId'],
      },
    });
  });

  it('rejects invalid titles and field names', () => {
    expect(schemaFromRows('', [])).toEqual({ ok: false, error: 'The schema needs a title.' });
    expect(schemaFromRows('A', [{ name: ' ', type: 'string', required: false }])).toMatchObject({ ok: false, error: expect.stringContaining('Field 1 has no name') });
    const twice = schemaFromRows('A', [
      { name: 'x', type: 'string', required: false },
      { name: 'x', type: 'number', required: false },
    ]);
    expect(twice).toMatchObject({ ok: false, error: expect.stringContaining('“x” appears twice') });
  });
});

describe('schemaFromJson', () => {
  it('accepts only a JSON object', () => {
    expect(schemaFromJson('{"title":"A","type":"object","properties":{}}')).toMatchObject({ ok: true });
    expect(schemaFromJson('[]')).toMatchObject({ ok: false });
    expect(schemaFromJson('{')).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
  });
});

describe('withTables', () => {
  const input = { documents: [] };

  it('keys CSV texts by fileId', () => {
    const result = withTables(input, [
      { fileId: ' meters ', fileName: 'meters.csv', csv: 'id,mwh\nm1,5\n' },
      { fileId: 'sites', fileName: 'sites.csv', csv: 'id\ns1\n' },
    ]);
    expect(result).toEqual({ ok: true, value: { documents: [], tables: { meters: 'id,mwh\nm1,5\n', sites: 'id\ns1\n' } } });
  });

  it('omits tables without CSV files', () => {
    expect(withTables(input, [])).toEqual({ ok: true, value: input });
  });

  it('rejects empty or repeated fileIds', () => {
    expect(withTables(input, [{ fileId: '', fileName: 'a.csv', csv: '' }])).toMatchObject({ ok: false, error: expect.stringContaining('has no fileId') });
    const repeated = withTables(input, [
      { fileId: 'a', fileName: 'a.csv', csv: '' },
      { fileId: 'a', fileName: 'b.csv', csv: '' },
    ]);
    expect(repeated).toMatchObject({ ok: false, error: expect.stringContaining('Two tables use the fileId “a”') });
  });
});
