import { expect, test } from '@playwright/test';
import { openTestDialog, pythonModeOf, resultTab, runTest, visibleTabPanel } from './support/studio.js';

// The policy the backend stores on its first start, with sample input on each block.
const EXAMPLE_POLICY_NAME = 'Grid-connected solar: emission reductions';

test.describe('Example policy', () => {
  test.beforeEach(async ({ page }) => {
    await page.goto('/');
    await page.getByRole('link', { name: EXAMPLE_POLICY_NAME }).click();
    await expect(page.getByRole('heading', { level: 1, name: EXAMPLE_POLICY_NAME })).toBeVisible();
  });

  test('Python block computes emission reductions', { tag: '@python' }, async ({ page }, testInfo) => {
    await page.getByRole('treeitem', { name: 'calculate_reductions_python (Custom Logic)' }).click();
    await expect(page.getByLabel('Script Language')).toHaveValue('PYTHON');

    const dialog = await openTestDialog(page);
    await expect(dialog.getByLabel('Input documents (JSON)')).toHaveValue(/"projectId": "solar-park-17"/);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    await expect(dialog.getByLabel('Run summary')).toContainText(pythonModeOf(testInfo));
    const result = dialog.getByLabel('Result 1');
    await expect(result).toContainText('"emissionReductions": 2812.842');
    await expect(result).toContainText('"emissionReductions": 2063.18');

    await resultTab(dialog, 'Debug log').click();
    await expect(visibleTabPanel(dialog).getByRole('listitem')).toHaveText([/^2024-Q1 /, /^2024-Q2 /]);
  });

  test('JavaScript block gives the same numbers', async ({ page }) => {
    await page.getByRole('treeitem', { name: 'calculate_reductions_javascript (Custom Logic)' }).click();
    await expect(page.getByLabel('Script Language')).toHaveValue('JAVASCRIPT');

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    const result = dialog.getByLabel('Result 1');
    await expect(result).toContainText('"emissionReductions": 2812.842');
    await expect(result).toContainText('"emissionReductions": 2063.18');
  });
});
