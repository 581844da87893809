import { expect, test } from '@playwright/test';
import {
  activeLineNumber,
  addCustomLogicBlock,
  createPolicy,
  openTestDialog,
  pasteScript,
  resultTab,
  runTest,
  visibleTabPanel,
} from './support/studio.js';

test.beforeEach(async ({ page }, testInfo) => {
  await createPolicy(page, `Policy for ${testInfo.title}`);
  await addCustomLogicBlock(page);
});

test.describe('Failed runs', () => {
  test('syntax error points at its line', { tag: '@python' }, async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, 'x = 1\ndef f(:\n    pass\ndone({})');
    await expect(activeLineNumber(page)).toHaveText('4');

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Errors')).toHaveAttribute('aria-selected', 'true');
    const errorView = visibleTabPanel(dialog).getByRole('alert');
    await expect(errorView).toContainText('SyntaxError');
    await errorView.getByRole('button', { name: /^line 2\b/ }).click();
    await expect(activeLineNumber(page)).toHaveText('2');
  });

  test('rejected import names the module', { tag: '@python' }, async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, 'import re\nimport requests\ndone({})');

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Errors')).toHaveAttribute('aria-selected', 'true');
    const errorView = visibleTabPanel(dialog).getByRole('alert');
    await expect(errorView).toContainText('requests');
    await expect(errorView.getByRole('button', { name: /^line 2\b/ })).toBeVisible();
  });

  test('JavaScript error points at its line', async ({ page }) => {
    await pasteScript(page, 'const report = documents[0].document;\nconst missing = report.notThere.value;\ndone(missing);');

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Errors')).toHaveAttribute('aria-selected', 'true');
    const errorView = visibleTabPanel(dialog).getByRole('alert');
    await expect(errorView).toContainText('TypeError');
    await errorView.getByRole('button', { name: /^line 2\b/ }).click();
    await expect(activeLineNumber(page)).toHaveText('2');
  });

  test('busy loop times out, next run completes', { tag: '@python' }, async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, 'while True:\n    pass');

    let dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(dialog.getByLabel('Run summary')).toContainText('timed_out');
    await expect(resultTab(dialog, 'Errors')).toHaveAttribute('aria-selected', 'true');

    await dialog.getByRole('button', { name: 'Close' }).click();
    await pasteScript(page, "done({'after': True})");
    dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(dialog.getByLabel('Run summary')).toContainText('completed');
    await expect(dialog.getByLabel('Result 1')).toContainText('"after": true');
  });

  test('cancelled run, next run completes', { tag: '@python' }, async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, 'while True:\n    pass');

    let dialog = await openTestDialog(page);
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(dialog.getByText('Running…')).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel run' }).click();

    await expect(dialog.getByText('The run was cancelled.')).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Run', exact: true })).toBeEnabled();

    await dialog.getByRole('button', { name: 'Close' }).click();
    await pasteScript(page, "done({'after': True})");
    dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(dialog.getByLabel('Run summary')).toContainText('completed');
    await expect(dialog.getByLabel('Result 1')).toContainText('"after": true');
  });

  test('non-finite numbers raise warnings', { tag: '@python' }, async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, "done({'x': float('inf'), 'y': float('nan'), 'z': 1.5})");

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    // The run completed, so the dialog shows Output first and points at the warnings.
    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    const result = dialog.getByLabel('Result 1');
    await expect(result).toContainText('"x": null');
    await expect(result).toContainText('"y": null');
    await expect(result).toContainText('"z": 1.5');

    await dialog.getByRole('button', { name: 'Show warnings' }).click();

    await expect(resultTab(dialog, 'Errors')).toHaveAttribute('aria-selected', 'true');
    const warnings = visibleTabPanel(dialog).getByRole('listitem');
    await expect(warnings.filter({ hasText: '$.x' })).toHaveCount(1);
    await expect(warnings.filter({ hasText: '$.y' })).toHaveCount(1);
  });
});
