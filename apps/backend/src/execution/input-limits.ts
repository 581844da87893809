import { AppError, InputTooLargeError } from '../errors.js';

export interface InputLimits {
  /** Containers (objects, arrays) nested inside one another, the outermost counting as 1. */
  maxDepth: number;
  /** Values of any kind, containers included. */
  maxNodes: number;
}

/**
 * Check raw test input against the caps before it is converted for a sandbox, walking
 * iteratively so that a deeply nested bomb cannot overflow this process's stack.
 * Throws 422 for nesting and 413 for size, naming the limit and the JSON path.
 */
export function checkInputLimits(input: Record<string, unknown>, limits: InputLimits): void {
  const stack: { value: unknown; depth: number; path: string }[] = Object.entries(input).map(([key, value]) => ({
    value,
    depth: 1,
    path: `$.${key}`,
  }));
  let nodes = 0;

  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    nodes += 1;
    if (nodes > limits.maxNodes) {
      throw new InputTooLargeError(
        `Test input has more than ${limits.maxNodes} values (the limit was passed at ${path}). Reduce the documents or raise INPUT_MAX_NODES.`,
        { limit: limits.maxNodes, path },
      );
    }
    if (value === null || typeof value !== 'object') {
      continue;
    }
    if (depth > limits.maxDepth) {
      throw new AppError(
        422,
        'input_too_deep',
        `Test input is nested more than ${limits.maxDepth} levels deep at ${shortenPath(path)}. Flatten the documents or raise INPUT_MAX_DEPTH.`,
        { limit: limits.maxDepth, path: shortenPath(path) },
      );
    }
    const entries = Array.isArray(value)
      ? value.map((item, index) => [`[${index}]`, item] as const)
      : Object.entries(value).map(([key, item]) => [`.${key}`, item] as const);
    for (const [step, item] of entries) {
      stack.push({ value: item, depth: depth + 1, path: path + step });
    }
  }
}

function shortenPath(path: string): string {
  return path.length > 200 ? `${path.slice(0, 120)}...${path.slice(-60)}` : path;
}
