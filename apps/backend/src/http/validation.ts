import type { z } from 'zod';
import { ValidationError } from '../errors.js';

/** Validate a request body against a shared schema; the first issue leads the message. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) {
    return parsed.data;
  }
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = issues[0];
  throw new ValidationError(
    `Invalid request body: ${first ? `${first.path || '(body)'}: ${first.message}` : 'unknown problem'}.`,
    issues,
  );
}
