import { expect, test } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, openTestDialog, pasteScript, resultTab, runTest, visibleTabPanel } from './support/studio.js';

test.beforeEach(async ({ page }, testInfo) => {
  await createPolicy(page, `Policy for ${testInfo.title}`);
  await addCustomLogicBlock(page);
  await page.getByLabel('Script Language').selectOption({ label: 'Python' });
});

test.describe('Run results', () => {
  test('debug entry shows every value', { tag: '@python' }, async ({ page }) => {
    await pasteScript(page, "debug('a', 1, {'x': 1})\ndebug('second entry')\ndone({})");

    const dialog = await openTestDialog(page);
    await runTest(dialog);
    await resultTab(dialog, 'Debug log').click();

    await expect(visibleTabPanel(dialog).getByRole('listitem')).toHaveText(['a 1 {"x":1}', 'second entry']);
  });

  test('done after a final result is ignored', { tag: '@python' }, async ({ page }) => {
    await pasteScript(page, "done({'first': 1}, False)\ndone({'second': 2})\ndone({'third': 3})");

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    const results = visibleTabPanel(dialog).getByRole('listitem');
    await expect(results).toHaveCount(2);
    await expect(results.nth(0)).toContainText('not final');
    await expect(results.nth(0).getByLabel('Result 1')).toContainText('"first": 1');
    await expect(results.nth(1)).not.toContainText('not final');
    await expect(results.nth(1)).toContainText('final');
    await expect(results.nth(1).getByLabel('Result 2')).toContainText('"second": 2');
    await expect(visibleTabPanel(dialog)).not.toContainText('"third"');

    // The third call came after the final result, so the run reports it in a warning.
    await dialog.getByRole('button', { name: 'Show warnings' }).click();
    await expect(visibleTabPanel(dialog).getByRole('listitem')).toContainText([/done/]);
  });
});
