/**
 * Loads Monaco from the installed `monaco-editor` package and starts its web workers
 * from files Vite bundles. `@monaco-editor/react` would otherwise fetch Monaco from a
 * CDN, and the page must request nothing from any host but its own.
 */
import { loader } from '@monaco-editor/react';
import * as monaco from 'monaco-editor/esm/vs/editor/editor.api';
// Editor features (find, folding, suggestions, ...) and the two script languages.
import 'monaco-editor/esm/vs/editor/editor.all.js';
import 'monaco-editor/esm/vs/basic-languages/python/python.contribution.js';
import 'monaco-editor/esm/vs/basic-languages/javascript/javascript.contribution.js';
import 'monaco-editor/esm/vs/language/typescript/monaco.contribution.js';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker?worker';
import TypeScriptWorker from 'monaco-editor/esm/vs/language/typescript/ts.worker?worker';

self.MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    // JavaScript models are checked by the TypeScript worker; everything else needs only the base worker.
    if (label === 'typescript' || label === 'javascript') {
      return new TypeScriptWorker();
    }
    return new EditorWorker();
  },
};

/** Declares the globals of a JavaScript Custom Logic script, for completion and type checking. */
const SCRIPT_GLOBALS_DECLARATION = `
/** The input document records; each record's \`document\` is a Verifiable Credential. */
declare const documents: Array<{ document: any; [field: string]: any }>;
/** The user who runs the block. */
declare const user: any;
declare const artifacts: any[];
declare const sources: any[];
/** Helper over the tables given with the run. */
declare const table: any;
/** Passes a result; \`final = false\` lets the script pass more results afterwards. */
declare function done(result: unknown, final?: boolean): void;
/** Adds one entry to the Debug log of the Test dialog. */
declare function debug(...values: unknown[]): void;
`;

monaco.languages.typescript.javascriptDefaults.addExtraLib(SCRIPT_GLOBALS_DECLARATION, 'file:///custom-logic-globals.d.ts');

// The TypeScript worker validates asynchronously, so a check that started while a model was
// still JavaScript can report after the author switched it to Python. Drop such markers.
const JAVASCRIPT_MARKER_OWNER = 'javascript';
monaco.editor.onDidChangeMarkers((resources) => {
  for (const resource of resources) {
    const model = monaco.editor.getModel(resource);
    if (!model || model.getLanguageId() === 'javascript') {
      continue;
    }
    const stale = monaco.editor.getModelMarkers({ resource, owner: JAVASCRIPT_MARKER_OWNER });
    if (stale.length > 0) {
      monaco.editor.setModelMarkers(model, JAVASCRIPT_MARKER_OWNER, []);
    }
  }
});

loader.config({ monaco });

export { monaco };
