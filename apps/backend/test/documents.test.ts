import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyCredential } from '@digitalbazaar/vc';
import { Ed25519Signature2020 } from '@digitalbazaar/ed25519-signature-2020';
import type { JsonObject, JsonValue } from '@policy-logic-studio/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildOutputDocuments,
  createDocumentLoader,
  createOutputBuilder,
  keyStore,
  productVersion,
  schemaJsonLdContext,
  schemaNames,
  SIGNING_KEY_FILE,
  withSystemFields,
  type BuildOutputDocumentsOptions,
  type DocumentSchema,
  type DocumentSigner,
} from '../src/documents/index.js';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const REPORT_SCHEMA: DocumentSchema = {
  $id: '#EmissionReductionReport',
  $comment: '{ "@id": "schema:emission-reduction-report#EmissionReductionReport", "term": "EmissionReductionReport" }',
  title: 'Emission reduction report',
  type: 'object',
  properties: {
    projectId: { type: 'string' },
    period: { type: 'string', pattern: '^\\d{4}-Q[1-4]$' },
    emissionReductions: { type: 'number' },
    monitoring: {
      type: 'object',
      properties: { meterReadings: { type: 'array', items: { type: 'number' } } },
    },
  },
  required: ['projectId', 'emissionReductions'],
  additionalProperties: false,
};

const INPUT_RECORD: JsonObject = {
  id: 'record-1',
  owner: 'did:example:owner',
  document: {
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    id: 'urn:uuid:7c4b2b9e-8d1f-4a8e-9f65-2f0f3c1f0a11',
    type: ['VerifiableCredential'],
    credentialSubject: [{ projectId: 'solar-park-17', baselineEmissions: 2880 }],
  },
};

const REPORT: JsonObject = { projectId: 'solar-park-17', period: '2024-Q1', emissionReductions: 2812.842 };

let dataDir: string;
let signer: DocumentSigner;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'output-documents-'));
  signer = await keyStore(dataDir);
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function build(overrides: Partial<BuildOutputDocumentsOptions>) {
  return buildOutputDocuments({
    results: [REPORT],
    block: { unsigned: true },
    inputDocuments: [INPUT_RECORD],
    outputSchema: REPORT_SCHEMA,
    policyId: 'policy-1',
    signer,
    ...overrides,
  });
}

function subjectOf(document: JsonObject | null): JsonObject {
  const subjects = document?.credentialSubject as JsonObject[];
  return subjects[0] as JsonObject;
}

function loaderFor(schema: DocumentSchema) {
  return createDocumentLoader(new Map([[schemaNames(schema).contextUrl, schemaJsonLdContext(schema)]]));
}

describe('productVersion', () => {
  it('equals the root package.json version', async () => {
    const rootPackage = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as {
      version: string;
    };

    expect(productVersion()).toBe(rootPackage.version);
  });
});

describe('withSystemFields', () => {
  it('adds guardianVersion as a read-only semantic version', () => {
    const schema = withSystemFields(REPORT_SCHEMA);
    const field = (schema.properties as Record<string, Record<string, unknown>>).guardianVersion;

    expect(field?.type).toBe('string');
    expect(field?.readOnly).toBe(true);
    expect(new RegExp(field?.pattern as string).test('3.4.1')).toBe(true);
    expect(new RegExp(field?.pattern as string).test('3.4')).toBe(false);
    expect(JSON.parse(field?.$comment as string)).toMatchObject({ term: 'guardianVersion', isSystemField: true });
  });

  it('adds every default system field', () => {
    const properties = withSystemFields({ $id: '#Empty' }).properties as Record<string, unknown>;

    expect(Object.keys(properties).sort()).toEqual(['@context', 'guardianVersion', 'id', 'policyId', 'ref', 'type']);
  });

  it('keeps fields the schema defines', () => {
    const own = { type: 'string', description: 'kept' };
    const schema = withSystemFields({ $id: '#Own', properties: { guardianVersion: own, a: { type: 'number' } } });
    const properties = schema.properties as Record<string, unknown>;

    expect(properties.guardianVersion).toEqual(own);
    expect(properties.a).toEqual({ type: 'number' });
  });

  it('leaves the given schema unchanged', () => {
    const schema: DocumentSchema = { $id: '#Input', properties: { a: { type: 'number' } } };
    withSystemFields(schema);

    expect(schema).toEqual({ $id: '#Input', properties: { a: { type: 'number' } } });
  });

  it('is idempotent', () => {
    const once = withSystemFields(REPORT_SCHEMA);

    expect(withSystemFields(once)).toEqual(once);
  });
});

describe('buildOutputDocuments', () => {
  it('records the product version as guardianVersion', async () => {
    const result = await build({});

    expect(result.errors).toEqual([]);
    expect(subjectOf(result.documents[0]!.document).guardianVersion).toBe(productVersion());
  });

  it('builds a VC with the system fields', async () => {
    const now = new Date('2024-05-01T10:00:00.000Z');
    const result = await build({ now });
    const document = result.documents[0]!.document!;

    expect(document['@context']).toEqual([
      'https://www.w3.org/2018/credentials/v1',
      'schema:emission-reduction-report',
    ]);
    expect(document.type).toEqual(['VerifiableCredential']);
    expect(document.issuer).toBe(signer.did);
    expect(document.issuanceDate).toBe('2024-05-01T10:00:00.000Z');
    expect(document.proof).toBeUndefined();
    expect(subjectOf(document)).toEqual({
      ...REPORT,
      '@context': ['schema:emission-reduction-report'],
      type: 'EmissionReductionReport',
      policyId: 'policy-1',
      ref: 'urn:uuid:7c4b2b9e-8d1f-4a8e-9f65-2f0f3c1f0a11',
      guardianVersion: productVersion(),
    });
  });

  it('system fields override the result', async () => {
    const result = await build({ results: [{ ...REPORT, guardianVersion: '0.0.1', policyId: 'forged' }] });
    const subject = subjectOf(result.documents[0]!.document);

    expect(subject.guardianVersion).toBe(productVersion());
    expect(subject.policyId).toBe('policy-1');
  });

  it('omits ref without a single source document', async () => {
    const result = await build({ inputDocuments: [INPUT_RECORD, INPUT_RECORD] });

    expect(subjectOf(result.documents[0]!.document)).not.toHaveProperty('ref');
  });

  it('names the JSON pointer of a wrong type', async () => {
    const result = await build({ results: [{ ...REPORT, emissionReductions: '2812.8' }] });

    expect(result.errors).toEqual(['document 0: /emissionReductions must be number']);
    expect(result.documents[0]!.errors).toEqual([
      { pointer: '/emissionReductions', message: '/emissionReductions must be number' },
    ]);
    expect(result.documents[0]!.signed).toBe(false);
  });

  it('names nested pointers and every violation', async () => {
    const value = { period: '2024-Q5', extra: 1, monitoring: { meterReadings: [1, 'two'] } };
    const result = await build({ results: [value] });

    expect(result.errors).toContain('document 0: /projectId is required but missing');
    expect(result.errors).toContain('document 0: /emissionReductions is required but missing');
    expect(result.errors).toContain('document 0: /extra is not allowed by the schema (additionalProperties is false)');
    expect(result.errors).toContain('document 0: /period must match pattern "^\\d{4}-Q[1-4]$"');
    expect(result.errors).toContain('document 0: /monitoring/meterReadings/1 must be number');
    expect(result.errors).toHaveLength(5);
  });

  it('reports violations per document', async () => {
    const result = await build({ results: [[REPORT, { ...REPORT, emissionReductions: null }]] });

    expect(result.documents[0]!.errors).toEqual([]);
    expect(result.errors).toEqual(['document 1: /emissionReductions must be number']);
  });

  it('rejects a result that is not an object', async () => {
    const result = await build({ results: [[REPORT, 42]] });

    expect(result.documents).toHaveLength(2);
    expect(result.documents[1]!.document).toBeNull();
    expect(result.errors).toEqual(['document 1: (credential subject) must be a JSON object, but done() gave a number']);
  });

  it('makes one document per array element in order', async () => {
    const values: JsonValue[] = [
      [
        { ...REPORT, projectId: 'a' },
        { ...REPORT, projectId: 'b' },
      ],
      { ...REPORT, projectId: 'c' },
      [],
      [{ ...REPORT, projectId: 'd' }],
    ];
    const result = await build({ results: values });

    expect(result.documents.map((entry) => subjectOf(entry.document).projectId)).toEqual(['a', 'b', 'c', 'd']);
    expect(result.documents.map((entry) => entry.index)).toEqual([0, 1, 2, 3]);
    expect(new Set(result.documents.map((entry) => entry.document!.id)).size).toBe(4);
  });

  it('passes the input records through with passOriginal', async () => {
    const second: JsonObject = { ...INPUT_RECORD, id: 'record-2' };
    const result = await build({
      block: { passOriginal: true },
      results: [{ ignored: true }],
      inputDocuments: [INPUT_RECORD, second],
    });

    expect(result.errors).toEqual([]);
    expect(result.documents.map((entry) => entry.document)).toEqual([INPUT_RECORD, second]);
    expect(result.documents.every((entry) => !entry.signed)).toBe(true);
  });

  it('gives urn:uuid ids by default', async () => {
    const result = await build({});

    expect(result.documents[0]!.document!.id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
  });

  it('gives a new did per document with idType DID', async () => {
    const result = await build({ block: { unsigned: true, idType: 'DID' }, results: [[REPORT, REPORT]] });
    const ids = result.documents.map((entry) => entry.document!.id as string);

    expect(ids[0]).toMatch(/^did:key:z6Mk/);
    expect(ids[1]).toMatch(/^did:key:z6Mk/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[0]).not.toBe(signer.did);
  });

  it("uses the owner's DID with idType OWNER", async () => {
    const result = await build({ block: { unsigned: true, idType: 'OWNER' }, ownerDid: 'did:example:owner' });

    expect(result.documents[0]!.document!.id).toBe('did:example:owner');
  });

  it('rejects an unknown idType', async () => {
    const result = await build({ block: { unsigned: true, idType: 'SERIAL' } });

    expect(result.documents).toEqual([]);
    expect(result.errors).toEqual(['idType "SERIAL" is not supported. Use UUID, DID or OWNER.']);
  });

  it('rejects a schema without $id', async () => {
    const result = await build({ outputSchema: { title: 'Nameless', type: 'object' } });

    expect(result.errors[0]).toMatch(/output schema "Nameless" has no \$id/);
  });

  it('reports an invalid schema', async () => {
    const result = await build({ outputSchema: { $id: '#Broken', type: 'object', properties: { a: { type: 'no-such-type' } } } });

    expect(result.documents).toEqual([]);
    expect(result.errors[0]).toMatch(/^The output schema #Broken is not a valid JSON Schema/);
  });

  it('validates draft 2020-12 schemas', async () => {
    const schema: DocumentSchema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://example.org/schemas/tonnes',
      type: 'object',
      properties: { tonnes: { type: 'number', minimum: 0 } },
      $defs: { unused: { type: 'string' } },
    };
    const result = await build({ outputSchema: schema, results: [{ tonnes: -1 }] });

    expect(result.errors).toEqual(['document 0: /tonnes must be >= 0']);
  });

  it('ignores unknown keywords and formats', async () => {
    const schema: DocumentSchema = {
      $id: '#Annotated',
      type: 'object',
      properties: {
        tonnes: { type: 'number', unit: 'tCO2e' },
        code: { type: 'string', format: 'guardian-code' },
        day: { type: 'string', format: 'date' },
      },
    };
    const result = await build({ outputSchema: schema, results: [{ tonnes: 1, code: 'x', day: 'monday' }] });

    expect(result.errors).toEqual(['document 0: /day must match format "date"']);
  });

  it('builds without validation when no schema is given', async () => {
    const result = await build({ outputSchema: undefined, results: [{ anything: 'goes' }] });

    expect(result.errors).toEqual([]);
    expect(result.documents[0]!.document!['@context']).toEqual(['https://www.w3.org/2018/credentials/v1']);
  });
});

describe('signed output documents', () => {
  it('carry a proof that verifies', async () => {
    const result = await build({ block: {} });
    const document = result.documents[0]!.document!;
    const verification = await verifyCredential({
      credential: document,
      suite: new Ed25519Signature2020(),
      documentLoader: loaderFor(REPORT_SCHEMA),
    });

    expect(result.errors).toEqual([]);
    expect(result.documents[0]!.signed).toBe(true);
    expect((document.proof as JsonObject).type).toBe('Ed25519Signature2020');
    expect((document.proof as JsonObject).verificationMethod).toBe(signer.verificationMethod);
    expect(verification.error).toBeUndefined();
    expect(verification.verified).toBe(true);
  });

  it('fail verification after an edit', async () => {
    const result = await build({ block: {} });
    const edited = structuredClone(result.documents[0]!.document!);
    subjectOf(edited).emissionReductions = 9999;
    const verification = await verifyCredential({
      credential: edited,
      suite: new Ed25519Signature2020(),
      documentLoader: loaderFor(REPORT_SCHEMA),
    });

    expect(verification.verified).toBe(false);
  });

  it('sign nested tables, nulls and undeclared fields', async () => {
    const schema: DocumentSchema = { $id: '#Open', type: 'object' };
    const value = {
      table: { type: 'table', fileId: 'meters.csv', columnKeys: ['site', 'kWh'], rows: [['North', 12.5]] },
      note: null,
      flags: [true, false],
    };
    const result = await build({ block: {}, outputSchema: schema, results: [value] });
    const verification = await verifyCredential({
      credential: result.documents[0]!.document!,
      suite: new Ed25519Signature2020(),
      documentLoader: loaderFor(schema),
    });

    expect(result.errors).toEqual([]);
    expect(verification.verified).toBe(true);
  });

  it('are left unsigned with a warning without a schema', async () => {
    const result = await build({ block: {}, outputSchema: undefined });

    expect(result.documents[0]!.signed).toBe(false);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      "document 0: left unsigned because the block has no output schema to define the subject's terms. Choose the block's outputSchema, or set \"unsigned\": true on the block to skip signing.",
    ]);
  });

  it('are not signed when invalid', async () => {
    const result = await build({ block: {}, results: [{ projectId: 'x' }] });

    expect(result.documents[0]!.signed).toBe(false);
    expect(result.documents[0]!.document!.proof).toBeUndefined();
  });
});

describe('unsigned output documents', () => {
  it('have no proof', async () => {
    const result = await build({ block: { unsigned: true } });

    expect(result.documents[0]!.signed).toBe(false);
    expect(result.documents[0]!.document).not.toHaveProperty('proof');
  });
});

describe('createDocumentLoader', () => {
  it('serves the W3C credentials context from disk', async () => {
    const loaded = await createDocumentLoader()('https://www.w3.org/2018/credentials/v1');

    expect(loaded.documentUrl).toBe('https://www.w3.org/2018/credentials/v1');
    expect(loaded.document).toHaveProperty('@context');
  });

  it('resolves did:key documents', async () => {
    const loaded = await createDocumentLoader()(signer.did);

    expect((loaded.document as JsonObject).id).toBe(signer.did);
  });

  it('rejects URLs it does not bundle', async () => {
    await expect(createDocumentLoader()('https://example.org/contexts/v1')).rejects.toThrow(
      /https:\/\/example\.org\/contexts\/v1 is not available offline/,
    );
  });
});

describe('keyStore', () => {
  it('creates the key file with mode 0600', async () => {
    const { mode } = await stat(path.join(dataDir, SIGNING_KEY_FILE));

    expect(mode & 0o777).toBe(0o600);
  });

  it('reuses the key on the next start', async () => {
    const again = await keyStore(dataDir);

    expect(again.did).toBe(signer.did);
    expect(again.verificationMethod).toBe(signer.verificationMethod);
  });

  it('gives a did:key issuer', () => {
    expect(signer.did).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/);
    expect(signer.verificationMethod.startsWith(`${signer.did}#`)).toBe(true);
  });

  it('agrees with concurrent starts', async () => {
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'output-documents-'));
    try {
      const signers = await Promise.all([keyStore(fresh), keyStore(fresh), keyStore(fresh)]);

      expect(new Set(signers.map((entry) => entry.did)).size).toBe(1);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('rejects a key file others can read', async () => {
    const loose = await mkdtemp(path.join(os.tmpdir(), 'output-documents-'));
    try {
      await keyStore(loose);
      await chmod(path.join(loose, SIGNING_KEY_FILE), 0o644);

      await expect(keyStore(loose)).rejects.toThrow(/readable by other users \(mode 644\)\. Run "chmod 600/);
    } finally {
      await rm(loose, { recursive: true, force: true });
    }
  });

  it('rejects a file without a private key', async () => {
    const broken = await mkdtemp(path.join(os.tmpdir(), 'output-documents-'));
    try {
      const file = path.join(broken, SIGNING_KEY_FILE);
      await writeFile(file, JSON.stringify({ type: 'Ed25519VerificationKey2020', publicKeyMultibase: 'z6Mk' }), {
        mode: 0o600,
      });

      await expect(keyStore(broken)).rejects.toThrow(/not an Ed25519VerificationKey2020 key pair with a private key/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});

describe('createOutputBuilder', () => {
  it('resolves the schema and returns documents and errors', async () => {
    const builder = createOutputBuilder({
      signer,
      resolveSchema: (schemaId) => (schemaId === '#EmissionReductionReport' ? REPORT_SCHEMA : undefined),
    });
    const built = await builder({
      block: {
        blockType: 'customLogicBlock',
        expression: '',
        outputSchema: '#EmissionReductionReport',
        unsigned: true,
      },
      policyId: 'policy-1',
      inputDocuments: [INPUT_RECORD],
      run: {
        status: 'completed',
        results: [
          { value: REPORT, final: false },
          { value: { ...REPORT, emissionReductions: 'lots' }, final: true },
        ],
        debug: [],
        stdout: '',
        stderr: '',
        warnings: [],
        packages: [],
      },
    });

    expect(built.outputs).toHaveLength(2);
    expect(built.errors).toEqual(['document 1: /emissionReductions must be number']);
  });
});
