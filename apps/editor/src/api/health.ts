import { useQuery } from '@tanstack/react-query';
import { apiJson } from './client.js';

/** The fields of `GET /api/health` the page shows; the server may send more. */
export interface HealthSummary {
  status: string;
  version?: string;
  pythonMode?: string;
  ready?: boolean;
  python?: { ready?: boolean; detail?: unknown };
}

export function fetchHealth(): Promise<HealthSummary> {
  return apiJson<HealthSummary>('/health');
}

const NOT_READY_POLL_MS = 5_000;

export function useHealth() {
  return useQuery({
    queryKey: ['health'],
    queryFn: fetchHealth,
    // Poll only while the Python runtime warms up; once ready, focus refetches suffice.
    refetchInterval: (query) => (query.state.data?.ready === true ? false : NOT_READY_POLL_MS),
  });
}
