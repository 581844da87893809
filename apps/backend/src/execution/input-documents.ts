import type { JsonValue, ScriptLanguage } from '@policy-logic-studio/shared';

const VC_CONTEXT = 'https://www.w3.org/2018/credentials/v1';

export interface PreparedDocuments {
  records: JsonValue[];
  /** Indexes of entries that were plain objects and were wrapped as VCs. */
  wrapped: number[];
}

function isPlainObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Guardian passes document records (`{ document: <VC>, ... }`) to a Custom Logic
 * block. An entry without an object `document` field is taken as the subject of a
 * credential and wrapped, so authors can test with plain JSON.
 */
export function prepareInputDocuments(entries: Record<string, unknown>[]): PreparedDocuments {
  const wrapped: number[] = [];
  const records = entries.map((entry, index): JsonValue => {
    if (isPlainObject(entry.document)) {
      return entry as Record<string, JsonValue>;
    }
    wrapped.push(index);
    return {
      document: {
        '@context': [VC_CONTEXT],
        type: ['VerifiableCredential'],
        credentialSubject: [entry as Record<string, JsonValue>],
      },
    };
  });
  return { records, wrapped };
}

const ARTIFACT_EXTENSIONS: Record<ScriptLanguage, string> = { JAVASCRIPT: 'js', PYTHON: 'py' };

/**
 * Code of executable-code artifacts (`{ type: 'executableCode', content }`) for the
 * script's language, joined so it runs before the block's script. Guardian spells the
 * extension field `extention`; an artifact without one is taken as the block's language.
 */
export function collectArtifactCode(artifacts: unknown[], language: ScriptLanguage): string {
  return artifacts
    .filter((artifact): artifact is { content: string; extention?: unknown; extension?: unknown } => {
      if (!isPlainObject(artifact) || artifact.type !== 'executableCode' || typeof artifact.content !== 'string') {
        return false;
      }
      const extension = artifact.extention ?? artifact.extension;
      return extension === undefined || extension === ARTIFACT_EXTENSIONS[language];
    })
    .map((artifact) => artifact.content)
    .join('\n');
}
