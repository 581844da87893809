/**
 * Typed fetcher for the backend's REST API. Every request goes to the page's own
 * origin under `/api`; errors arrive as `{ error: { code, message, details } }`.
 */

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

/** A non-2xx response from the API, with the server's error code and message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A JSON response together with the headers the caller needs (ETag). */
export interface ApiResponse<T> {
  data: T;
  headers: Headers;
}

async function readError(response: Response): Promise<ApiError> {
  const fallback = `${response.status} ${response.statusText || 'error'} from ${response.url}`;
  let body: ErrorBody | undefined;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // A proxy or a crashed server may respond with HTML or an empty body, so the status line is kept.
    return new ApiError(response.status, 'http_error', fallback);
  }

  const code = typeof body?.error?.code === 'string' ? body.error.code : 'http_error';
  const message = typeof body?.error?.message === 'string' ? body.error.message : fallback;
  return new ApiError(response.status, code, message, body?.error?.details);
}

/** Sends a request to `/api{path}` and returns the parsed JSON body (undefined for 204). */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }

  let response: Response;
  try {
    response = await fetch(`/api${path}`, { method: options.method ?? 'GET', headers, body, signal: options.signal });
  } catch (cause) {
    if (isAbortError(cause)) {
      throw cause;
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ApiError(0, 'network_error', `Could not reach the server for ${path}: ${reason}. Check that the backend is running.`);
  }

  if (!response.ok) {
    throw await readError(response);
  }
  if (response.status === 204) {
    return { data: undefined as T, headers: response.headers };
  }
  return { data: (await response.json()) as T, headers: response.headers };
}

/** Shortcut for calls whose headers the caller does not need. */
export async function apiJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { data } = await apiRequest<T>(path, options);
  return data;
}

/** True for the error `fetch` throws when its request was cancelled through an AbortSignal. */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** Turns any thrown value into one line for the page. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
