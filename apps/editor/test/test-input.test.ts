import { describe, expect, it } from 'vitest';
import { initialTestInputTexts, parseArtifacts, parseDocuments, parseTestInput, parseUser } from '../src/test-run/test-input.js';

describe('parseDocuments', () => {
  it('accepts an array of objects', () => {
    expect(parseDocuments('[{"document": {}}, {"plain": 1}]')).toEqual({
      ok: true,
      value: [{ document: {} }, { plain: 1 }],
    });
  });

  it('reports invalid JSON with the parser message', () => {
    const result = parseDocuments('[{"document": ');

    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^Input documents is not valid JSON: /) });
  });

  it.each([
    ['{"document": {}}', 'not an object'],
    ['"text"', 'not a string'],
    ['null', 'not null'],
  ])('rejects %s as %s', (text, expected) => {
    const result = parseDocuments(text);

    expect(result).toEqual({ ok: false, error: expect.stringContaining(expected) });
  });

  it('names the first item that is not an object', () => {
    const result = parseDocuments('[{}, 3, []]');

    expect(result).toEqual({ ok: false, error: 'Input documents: item 1 is a number; every item must be a JSON object.' });
  });
});

describe('parseUser', () => {
  it('treats an empty field as not given', () => {
    expect(parseUser('  ')).toEqual({ ok: true, value: undefined });
  });

  it('accepts any JSON value', () => {
    expect(parseUser('"did:example:1"')).toEqual({ ok: true, value: 'did:example:1' });
  });
});

describe('parseArtifacts', () => {
  it('rejects an object', () => {
    expect(parseArtifacts('{}')).toEqual({ ok: false, error: 'Artifacts must be a JSON array, not an object.' });
  });

  it('treats an empty field as no artifacts', () => {
    expect(parseArtifacts('')).toEqual({ ok: true, value: undefined });
  });
});

describe('parseTestInput', () => {
  it('builds the request input when every field is valid', () => {
    const parsed = parseTestInput({ documents: '[]', user: '{"did": "d"}', artifacts: '[1]' });

    expect(parsed.input).toEqual({ documents: [], user: { did: 'd' }, artifacts: [1] });
  });

  it('omits the optional fields left empty', () => {
    const parsed = parseTestInput({ documents: '[]', user: '', artifacts: '' });

    expect(parsed.input).toEqual({ documents: [] });
  });

  it('returns no input when one field is invalid', () => {
    const parsed = parseTestInput({ documents: '[]', user: '{', artifacts: '[]' });

    expect(parsed.input).toBeNull();
    expect(parsed.user.ok).toBe(false);
  });
});

describe('initialTestInputTexts', () => {
  it('uses the test input stored on the block', () => {
    const block = {
      blockType: 'customLogicBlock',
      testInput: { documents: [{ document: { id: 'stored' } }], user: { role: 'VVB' }, artifacts: [{ name: 'a' }] },
    };

    const texts = initialTestInputTexts(block);

    expect(JSON.parse(texts.documents)).toEqual([{ document: { id: 'stored' } }]);
    expect(JSON.parse(texts.user)).toEqual({ role: 'VVB' });
    expect(JSON.parse(texts.artifacts)).toEqual([{ name: 'a' }]);
  });

  it('falls back to valid sample documents', () => {
    const texts = initialTestInputTexts({ blockType: 'customLogicBlock' });

    const parsed = parseTestInput(texts);

    expect(parsed.input?.documents.length).toBeGreaterThan(0);
    expect(parsed.input?.documents[0]).toHaveProperty('document.credentialSubject');
  });
});
