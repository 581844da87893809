import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from './api/client.js';
import { App } from './App.js';
import './styles.css';

const MAX_QUERY_RETRIES = 2;

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx response (not found, invalid request) will not change on retry, but network and 5xx errors may.
      retry: (failureCount, error) => {
        const clientError = error instanceof ApiError && error.status >= 400 && error.status < 500;
        return !clientError && failureCount < MAX_QUERY_RETRIES;
      },
    },
  },
});

const container = document.getElementById('root');
if (!container) {
  throw new Error('index.html has no element with id "root" to render the editor into.');
}

createRoot(container).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
