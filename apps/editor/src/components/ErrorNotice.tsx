import { ApiError, errorMessage } from '../api/client.js';

interface ErrorNoticeProps {
  /** Sentence start naming the failed action, such as "Could not load the policies". */
  action: string;
  error: unknown;
  onRetry?: () => void;
}

/** Shows an error from the API, with its details when the server sent any. */
export function ErrorNotice({ action, error, onRetry }: ErrorNoticeProps) {
  const details = error instanceof ApiError ? error.details : undefined;

  return (
    <div className="notice notice-error" role="alert">
      <p>
        {action}: {errorMessage(error)}
      </p>
      {details !== undefined && details !== null && <pre className="error-details">{JSON.stringify(details, null, 2)}</pre>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
