import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { PolicyBlock, PolicyDocument, StoredPolicy } from '@policy-logic-studio/shared';
import { ApiError } from '../api/client.js';
import { fetchPolicy, policyKeys, useSavePolicy } from '../api/policies.js';
import { addChildAt, removeBlockAt, updateBlockAt, type BlockPath } from './tree.js';

/** A save rejected with 412 because the server has a newer version than the one the edits started from. */
export interface VersionConflict {
  baseVersion: number;
}

/**
 * Unsaved edits of one policy. `base` is the stored version the draft started from,
 * and it is what `If-Match` carries on save. A newer version from the server replaces
 * the draft only while the draft has no unsaved changes.
 */
export function usePolicyDraft(stored: StoredPolicy) {
  const queryClient = useQueryClient();
  const { mutate: mutateSave, reset: resetSave, isPending: saving, error: saveError } = useSavePolicy();
  const [base, setBase] = useState(stored);
  const [draft, setDraft] = useState<PolicyDocument>(stored.policy);
  const [conflict, setConflict] = useState<VersionConflict | null>(null);
  const [reloadError, setReloadError] = useState<unknown>(null);
  const draftRef = useRef(draft);
  draftRef.current = draft;

  const dirty = useMemo(() => JSON.stringify(draft) !== JSON.stringify(base.policy), [draft, base]);

  useEffect(() => {
    if (stored.version > base.version && !dirty) {
      setBase(stored);
      setDraft(stored.policy);
    }
  }, [stored, base.version, dirty]);

  const saveOnto = useCallback(
    (baseVersion: number) => {
      const sent = draftRef.current;
      mutateSave(
        { policyId: stored.id, baseVersion, policy: sent },
        {
          onSuccess: (saved) => {
            setBase(saved);
            setConflict(null);
            // Keep edits typed while the request was in flight; they stay unsaved.
            if (draftRef.current === sent) {
              setDraft(saved.policy);
            }
          },
          onError: (error) => {
            if (error instanceof ApiError && error.status === 412) {
              setConflict({ baseVersion });
            }
          },
        },
      );
    },
    [mutateSave, stored.id],
  );

  const save = useCallback(() => saveOnto(base.version), [saveOnto, base.version]);

  /** Fetches the server's current version; null when that failed (the error is kept for the page). */
  const fetchLatest = useCallback(async (): Promise<StoredPolicy | null> => {
    setReloadError(null);
    try {
      return await queryClient.fetchQuery({ queryKey: policyKeys.detail(stored.id), queryFn: () => fetchPolicy(stored.id) });
    } catch (error) {
      setReloadError(error);
      return null;
    }
  }, [queryClient, stored.id]);

  /** Drops the unsaved edits and loads the server's current version. */
  const reload = useCallback(async () => {
    const latest = await fetchLatest();
    if (!latest) {
      return;
    }
    setBase(latest);
    setDraft(latest.policy);
    setConflict(null);
    resetSave();
  }, [fetchLatest, resetSave]);

  /** Saves the draft over the server's current version, discarding the other editor's changes. */
  const overwrite = useCallback(async () => {
    const latest = await fetchLatest();
    if (latest) {
      saveOnto(latest.version);
    }
  }, [fetchLatest, saveOnto]);

  const updatePolicy = useCallback((fields: Partial<Pick<PolicyDocument, 'name' | 'description'>>) => {
    setDraft((previous) => ({ ...previous, ...fields }));
  }, []);

  const updateBlock = useCallback((path: BlockPath, update: (block: PolicyBlock) => PolicyBlock) => {
    setDraft((previous) => ({ ...previous, config: updateBlockAt(previous.config, path, update) }));
  }, []);

  const addChild = useCallback((parentPath: BlockPath, child: PolicyBlock): BlockPath => {
    const { root, childPath } = addChildAt(draftRef.current.config, parentPath, child);
    setDraft((previous) => ({ ...previous, config: root }));
    return childPath;
  }, []);

  const removeBlock = useCallback((path: BlockPath) => {
    setDraft((previous) => ({ ...previous, config: removeBlockAt(previous.config, path) }));
  }, []);

  return {
    base,
    draft,
    dirty,
    conflict,
    latestVersion: Math.max(stored.version, base.version),
    saving,
    saveError,
    reloadError,
    save,
    reload,
    overwrite,
    updatePolicy,
    updateBlock,
    addChild,
    removeBlock,
  };
}

export type PolicyDraft = ReturnType<typeof usePolicyDraft>;
