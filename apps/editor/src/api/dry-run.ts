import { useMutation } from '@tanstack/react-query';
import type { DryRunInput, DryRunResponse, PolicyBlock } from '@policy-logic-studio/shared';
import { apiJson } from './client.js';

export interface DryRunCall {
  policyId: string;
  /**
   * Tag of the block in the saved policy, or undefined for a block that is new or
   * renamed since the last save: the policy route looks the tag up in the saved policy.
   */
  savedTag: string | undefined;
  /** The block as edited, saved or not; the server runs this configuration. */
  block: PolicyBlock;
  input: DryRunInput;
  /** Cancels the request; the server stops the run when the client goes away. */
  signal?: AbortSignal;
}

export function runDryRun({ policyId, savedTag, block, input, signal }: DryRunCall): Promise<DryRunResponse> {
  const body = { block, input };
  if (savedTag === undefined) {
    return apiJson<DryRunResponse>('/dry-run', { method: 'POST', body, signal });
  }
  const path = `/policies/${encodeURIComponent(policyId)}/blocks/${encodeURIComponent(savedTag)}/dry-run`;
  return apiJson<DryRunResponse>(path, { method: 'POST', body, signal });
}

/** Runs a block once. A dry run writes nothing on the server, so no query is invalidated afterwards. */
export function useDryRun() {
  return useMutation({ mutationFn: runDryRun });
}
