import type { ScriptError } from '@policy-logic-studio/shared';

/** File name the author's code is compiled under. Stack frames that name it are in the author's code. */
export const SCRIPT_FILENAME = 'script.js';

/**
 * Parameters of the function whose body is the block's expression. The order is
 * Guardian's (its custom logic worker passes `done, user, documents, mathjs, artifacts,
 * formulajs, sources, debug`), so scripts that read `arguments` by index keep working.
 */
export const SCRIPT_PARAMETERS = [
  'done',
  'user',
  'documents',
  'mathjs',
  'artifacts',
  'formulajs',
  'sources',
  'debug',
  'table',
] as const;

/** V8 ends a line at any of these, so line counts must too. */
const LINE_TERMINATOR = /\r\n|[\n\r\u2028\u2029]/;

const SYNTAX_POSITION = /\s*\[script\.js:(\d+):(\d+)\]$/;
const FRAME_POSITION = /script\.js:(\d+):(\d+)/;

/** Compiled source of one run and what is needed to map its positions back. */
export interface ScriptLayout {
  source: string;
  /** Passed to V8 as the script origin's line offset, so the body's first line is line 1. */
  lineOffset: number;
  preludeLineCount: number;
  scriptLineCount: number;
}

function countLines(text: string): number {
  return text.split(LINE_TERMINATOR).length;
}

/**
 * Wraps the prelude (artifact code) and the script as the body of one async function.
 * V8 numbers the body's lines from 1, prelude first, and `locate` maps them back.
 * V8 prints no position for lines below 1, so the prelude cannot be moved there.
 */
export function buildScriptSource(script: string, prelude: string): ScriptLayout {
  const header = `(async function (${SCRIPT_PARAMETERS.join(', ')}) {`;
  const preludeLineCount = prelude === '' ? 0 : countLines(prelude);
  const body = prelude === '' ? script : `${prelude}\n${script}`;

  return {
    source: `${header}\n${body}\n})`,
    lineOffset: -1,
    preludeLineCount,
    scriptLineCount: countLines(script),
  };
}

/** Position of a V8 line in the script, in the prelude, or on the wrapper's own lines. */
type SourcePosition =
  | { place: 'script'; line: number; column: number }
  | { place: 'prelude'; line: number; column: number }
  | { place: 'wrapper' };

function locate(layout: ScriptLayout, line: number, column: number): SourcePosition {
  if (line >= 1 && line <= layout.preludeLineCount) {
    return { place: 'prelude', line, column };
  }
  const scriptLine = line - layout.preludeLineCount;
  if (scriptLine >= 1 && scriptLine <= layout.scriptLineCount) {
    return { place: 'script', line: scriptLine, column };
  }
  return { place: 'wrapper' };
}

function withPosition(error: ScriptError, position: SourcePosition): ScriptError {
  switch (position.place) {
    case 'script':
      return { ...error, line: position.line, column: position.column };
    case 'prelude':
      return {
        ...error,
        hint: `The error is in the artifact code that runs before the script, at its line ${position.line}, column ${position.column}.`,
      };
    case 'wrapper':
      return error;
  }
}

/**
 * Builds the error for a script that does not compile. isolated-vm appends the
 * position to V8's message as ` [file:line:column]`.
 */
export function syntaxErrorFrom(message: string, layout: ScriptLayout): ScriptError {
  const match = SYNTAX_POSITION.exec(message);
  const error: ScriptError = { type: 'SyntaxError', message: message.replace(SYNTAX_POSITION, '') };
  if (!match) {
    return error;
  }

  const line = Number(match[1]);
  const column = Number(match[2]);
  // An unclosed comment, string or bracket runs into the wrapper's closing line.
  if (line > layout.preludeLineCount + layout.scriptLineCount) {
    return {
      ...error,
      line: layout.scriptLineCount,
      hint: 'The script ends inside an unclosed bracket, string or comment.',
    };
  }
  return withPosition(error, locate(layout, line, column));
}

/** Rewrites a stack frame's position for the author, or drops frames outside their code. */
function rewriteFrame(frame: string, layout: ScriptLayout): string | undefined {
  const match = FRAME_POSITION.exec(frame);
  if (!match) {
    return undefined;
  }
  const position = locate(layout, Number(match[1]), Number(match[2]));
  switch (position.place) {
    case 'script':
      return frame.replace(FRAME_POSITION, `script:${position.line}:${position.column}`);
    case 'prelude':
      return frame.replace(FRAME_POSITION, `artifact code:${position.line}:${position.column}`);
    case 'wrapper':
      return undefined;
  }
}

/**
 * Builds the error for an exception the script threw. The line is the innermost
 * frame in the author's code, so an error raised inside `done()` or a library
 * points at the line that called it.
 */
export function runtimeErrorFrom(name: string, message: string, stack: string, layout: ScriptLayout): ScriptError {
  const frames = stack
    .split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .map((frame) => rewriteFrame(frame, layout))
    .filter((frame): frame is string => frame !== undefined);

  let error: ScriptError = { type: name, message };
  if (frames.length > 0) {
    error.traceback = [`${name}: ${message}`, ...frames].join('\n');
  }

  const innermost = stack.split('\n').find((line) => line.trimStart().startsWith('at ') && FRAME_POSITION.test(line));
  const match = innermost === undefined ? null : FRAME_POSITION.exec(innermost);
  if (match) {
    error = withPosition(error, locate(layout, Number(match[1]), Number(match[2])));
  }
  return error;
}
