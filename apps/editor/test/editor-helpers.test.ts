import { describe, expect, it } from 'vitest';
import type { DryRunResponse } from '@policy-logic-studio/shared';
import { exportFileName } from '../src/api/policies.js';
import { isUntouchedScript, starterScript } from '../src/blocks/starter-scripts.js';
import { parseRoute, policyHref } from '../src/routes.js';
import { initialTab } from '../src/test-run/RunResults.js';

describe('isUntouchedScript', () => {
  it.each([
    ['an empty script', ''],
    ['whitespace only', '  \n'],
    ['the Python starter', starterScript('PYTHON')],
    ['the JavaScript starter with a trailing blank line', `${starterScript('JAVASCRIPT')}\n\n`],
  ])('treats %s as untouched', (_case, script) => {
    expect(isUntouchedScript(script)).toBe(true);
  });

  it('treats an edited starter as touched', () => {
    expect(isUntouchedScript(`${starterScript('PYTHON')}x = 1\n`)).toBe(false);
  });
});

describe('starterScript', () => {
  it.each(['PYTHON', 'JAVASCRIPT'] as const)('%s reads documents and calls debug and done', (language) => {
    const script = starterScript(language);

    expect(script).toContain('documents');
    expect(script).toContain('debug(');
    expect(script).toContain('done(');
  });
});

describe('parseRoute', () => {
  it('round-trips a policy id with reserved characters', () => {
    const href = policyHref('a/b c');

    expect(parseRoute(href)).toEqual({ page: 'policy', policyId: 'a/b c' });
  });

  it('opens the Python library list', () => {
    expect(parseRoute('#/libraries')).toEqual({ page: 'libraries' });
  });

  it.each(['', '#/', '#/unknown', '#/policies/'])('sends %j to the policy list', (hash) => {
    expect(parseRoute(hash)).toEqual({ page: 'policies' });
  });
});

describe('exportFileName', () => {
  it('turns the policy name into a file name', () => {
    expect(exportFileName('Grid-connected solar: emission reductions')).toBe('grid-connected-solar-emission-reductions.policy.json');
  });

  it('falls back when the name has no letters or digits', () => {
    expect(exportFileName('***')).toBe('policy.policy.json');
  });
});

describe('initialTab', () => {
  const completed = { status: 'completed', error: undefined } as DryRunResponse;

  it('opens a completed run on Output', () => {
    expect(initialTab(completed)).toBe('output');
  });

  it.each(['failed', 'timed_out', 'cancelled'] as const)('opens a %s run on Errors', (status) => {
    expect(initialTab({ ...completed, status })).toBe('errors');
  });

  it('opens on Errors when a completed run still carries an error', () => {
    expect(initialTab({ ...completed, error: { type: 'ValueError', message: 'bad' } })).toBe('errors');
  });
});
