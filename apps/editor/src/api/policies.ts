import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { PolicyDocument, PolicySummary, StoredPolicy } from '@policy-logic-studio/shared';
import { apiJson, apiRequest } from './client.js';

/** Query keys: every key starts with its resource. */
export const policyKeys = {
  list: ['policies'] as const,
  detail: (policyId: string) => ['policy', policyId] as const,
};

export function fetchPolicies(): Promise<PolicySummary[]> {
  return apiJson<PolicySummary[]>('/policies');
}

export function fetchPolicy(policyId: string): Promise<StoredPolicy> {
  return apiJson<StoredPolicy>(`/policies/${encodeURIComponent(policyId)}`);
}

export function createPolicy(policy: PolicyDocument): Promise<StoredPolicy> {
  return apiJson<StoredPolicy>('/policies', { method: 'POST', body: policy });
}

export interface PolicyUpdate {
  policyId: string;
  /** The version the edits were based on. The server responds with 412 when it has moved on. */
  baseVersion: number;
  policy: PolicyDocument;
}

export function updatePolicy({ policyId, baseVersion, policy }: PolicyUpdate): Promise<StoredPolicy> {
  return apiJson<StoredPolicy>(`/policies/${encodeURIComponent(policyId)}`, {
    method: 'PUT',
    body: policy,
    headers: { 'If-Match': `"${baseVersion}"` },
  });
}

export async function deletePolicy(policyId: string): Promise<void> {
  await apiRequest<void>(`/policies/${encodeURIComponent(policyId)}`, { method: 'DELETE' });
}

/** Sends a Guardian policy JSON (any shape with `name` and `config`) to be stored. */
export function importPolicy(guardianPolicy: unknown): Promise<StoredPolicy> {
  return apiJson<StoredPolicy>('/policies/import', { method: 'POST', body: guardianPolicy });
}

export function fetchPolicyExport(policyId: string): Promise<unknown> {
  return apiJson<unknown>(`/policies/${encodeURIComponent(policyId)}/export`);
}

export function usePolicies() {
  return useQuery({ queryKey: policyKeys.list, queryFn: fetchPolicies });
}

export function usePolicy(policyId: string) {
  return useQuery({ queryKey: policyKeys.detail(policyId), queryFn: () => fetchPolicy(policyId) });
}

export function useCreatePolicy() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createPolicy,
    onSuccess: (stored) => queryClient.setQueryData(policyKeys.detail(stored.id), stored),
    onSettled: () => queryClient.invalidateQueries({ queryKey: policyKeys.list }),
  });
}

export function useSavePolicy() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updatePolicy,
    onSuccess: (stored) => queryClient.setQueryData(policyKeys.detail(stored.id), stored),
    // After a 412 the refetch brings in the newer version the conflict message reports.
    onSettled: (_stored, _error, update) =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: policyKeys.list }),
        queryClient.invalidateQueries({ queryKey: policyKeys.detail(update.policyId) }),
      ]),
  });
}

export function useDeletePolicy() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deletePolicy,
    onSuccess: (_nothing, policyId) => queryClient.removeQueries({ queryKey: policyKeys.detail(policyId) }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: policyKeys.list }),
  });
}

export function useImportPolicy() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: importPolicy,
    onSuccess: (stored) => queryClient.setQueryData(policyKeys.detail(stored.id), stored),
    onSettled: () => queryClient.invalidateQueries({ queryKey: policyKeys.list }),
  });
}

/** Fetches the Guardian JSON of a policy and hands it to the browser as a file download. */
export function useExportPolicy() {
  return useMutation({
    mutationFn: async ({ policyId, name }: { policyId: string; name: string }) => {
      const guardianPolicy = await fetchPolicyExport(policyId);
      saveJsonFile(guardianPolicy, exportFileName(name));
    },
  });
}

/** Builds a file name from the policy name: lower-case letters, digits and dashes. */
export function exportFileName(policyName: string): string {
  const slug = policyName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${slug || 'policy'}.policy.json`;
}

function saveJsonFile(value: unknown, fileName: string): void {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoke on the next task, because the download may read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
