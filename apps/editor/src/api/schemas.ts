import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { PolicySchema } from '../schemas/schema-fields.js';
import { apiJson, apiRequest } from './client.js';
import { policyKeys } from './policies.js';

export const schemaKeys = {
  list: (policyId: string) => ['policy', policyId, 'schemas'] as const,
};

function schemasPath(policyId: string): string {
  return `/policies/${encodeURIComponent(policyId)}/schemas`;
}

export function fetchSchemas(policyId: string): Promise<PolicySchema[]> {
  return apiJson<PolicySchema[]>(schemasPath(policyId));
}

export interface SchemaCreate {
  policyId: string;
  /** Policy version the request is based on. A schema write bumps it. */
  baseVersion: number;
  schema: PolicySchema;
}

export function createSchema({ policyId, baseVersion, schema }: SchemaCreate): Promise<PolicySchema> {
  return apiJson<PolicySchema>(schemasPath(policyId), {
    method: 'POST',
    body: schema,
    headers: { 'If-Match': `"${baseVersion}"` },
  });
}

export interface SchemaDelete {
  policyId: string;
  baseVersion: number;
  /** The schema's iri, with or without its leading `#`. */
  schemaIri: string;
}

export async function deleteSchema({ policyId, baseVersion, schemaIri }: SchemaDelete): Promise<void> {
  const schemaId = schemaIri.replace(/^#/, '');
  await apiRequest<void>(`${schemasPath(policyId)}/${encodeURIComponent(schemaId)}`, {
    method: 'DELETE',
    headers: { 'If-Match': `"${baseVersion}"` },
  });
}

export function useSchemas(policyId: string) {
  return useQuery({ queryKey: schemaKeys.list(policyId), queryFn: () => fetchSchemas(policyId) });
}

/** Schema writes bump the policy version, so the policy is refetched before the next save. */
function useInvalidateAfterSchemaWrite() {
  const queryClient = useQueryClient();
  return (policyId: string) =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: schemaKeys.list(policyId) }),
      queryClient.invalidateQueries({ queryKey: policyKeys.detail(policyId), exact: true }),
      queryClient.invalidateQueries({ queryKey: policyKeys.list }),
    ]);
}

export function useCreateSchema() {
  const invalidate = useInvalidateAfterSchemaWrite();
  return useMutation({
    mutationFn: createSchema,
    onSettled: (_schema, _error, request) => invalidate(request.policyId),
  });
}

export function useDeleteSchema() {
  const invalidate = useInvalidateAfterSchemaWrite();
  return useMutation({
    mutationFn: deleteSchema,
    onSettled: (_nothing, _error, request) => invalidate(request.policyId),
  });
}
