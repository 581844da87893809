import { expect, test } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, openTestDialog, runTest, typeScript } from './support/studio.js';

test.beforeEach(async ({ page }, testInfo) => {
  await createPolicy(page, `Policy for ${testInfo.title}`);
  await addCustomLogicBlock(page);
});

test.describe('Test dialog state', () => {
  test('edit after a run marks it stale', async ({ page }) => {
    let dialog = await openTestDialog(page);
    await runTest(dialog);
    await expect(dialog.getByText('The script has changed since this run.')).toBeHidden();
    await dialog.getByRole('button', { name: 'Close' }).click();

    await typeScript(page, ['done(1);']);
    dialog = await openTestDialog(page);

    await expect(dialog.getByText('The script has changed since this run.')).toBeVisible();
  });

  test('Escape closes the dialog', async ({ page }) => {
    const dialog = await openTestDialog(page);

    await page.keyboard.press('Escape');

    await expect(dialog).toBeHidden();
    await expect(page.getByRole('button', { name: 'Test', exact: true })).toBeVisible();
  });
});
