/**
 * Errors that reach an API client. Each carries a stable `code`, the HTTP status that
 * fits it, and optional details; the HTTP layer renders them as
 * `{ error: { code, message, details } }`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super(404, 'not_found', `${what} "${id}" not found.`);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'invalid_request', message, details);
  }
}

/** The update was based on an older version than the stored one. */
export class VersionConflictError extends AppError {
  constructor(id: string, expected: number, actual: number) {
    super(
      412,
      'version_conflict',
      `Policy "${id}" is at version ${actual}, but the update was based on version ${expected}. Reload the policy, reapply your changes and save again.`,
      { expectedVersion: expected, currentVersion: actual },
    );
  }
}

export class InputTooLargeError extends AppError {
  constructor(message: string, details?: unknown) {
    super(413, 'input_too_large', message, details);
  }
}

export class ServiceBusyError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(503, 'busy', message, { retryAfterSeconds });
  }
}
