import type { ScriptLanguage } from '@policy-logic-studio/shared';

/**
 * The script a new Custom Logic block starts with. Both read the input document
 * records, log through `debug` and pass `done` a list with one result per input.
 */
const STARTER_SCRIPTS: Record<ScriptLanguage, string> = {
  PYTHON: `# documents: the input document records; each record's "document" is a Verifiable Credential.
subjects = [record["document"]["credentialSubject"][0] for record in documents]
debug("subjects received:", len(subjects))

# done() takes the result: here a list with one output subject per input document.
done([{**subject, "reviewed": True} for subject in subjects])
`,
  JAVASCRIPT: `// documents: the input document records; each record's "document" is a Verifiable Credential.
const subjects = documents.map((record) => record.document.credentialSubject[0]);
debug('subjects received:', subjects.length);

// done() takes the result: here a list with one output subject per input document.
done(subjects.map((subject) => ({ ...subject, reviewed: true })));
`,
};

export function starterScript(language: ScriptLanguage): string {
  return STARTER_SCRIPTS[language];
}

/** True when the author has not written anything of their own: empty or a starter script. */
export function isUntouchedScript(script: string): boolean {
  const trimmed = script.trim();
  return trimmed === '' || Object.values(STARTER_SCRIPTS).some((starter) => starter.trim() === trimmed);
}

export const SCRIPT_LANGUAGE_LABELS: Record<ScriptLanguage, string> = {
  JAVASCRIPT: 'JavaScript',
  PYTHON: 'Python',
};

/** Monaco's language id for each script language. */
export const MONACO_LANGUAGE_IDS: Record<ScriptLanguage, string> = {
  JAVASCRIPT: 'javascript',
  PYTHON: 'python',
};
