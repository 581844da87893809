import { expect, test } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, pasteScript, scriptLines } from './support/studio.js';

const SCRIPT = "done({'exported': True})";

test.describe('Policy files', () => {
  test('export then import keeps the script', async ({ page }, testInfo) => {
    const policyName = `Policy for ${testInfo.title}`;
    await createPolicy(page, policyName);
    await addCustomLogicBlock(page);
    await page.getByLabel('Tag').fill('exported_block');
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, SCRIPT);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByText('Saved', { exact: true })).toBeVisible();

    await page.getByRole('link', { name: 'All policies' }).click();
    const downloadStarted = page.waitForEvent('download');
    await page.getByRole('button', { name: `Export ${policyName}` }).click();
    const download = await downloadStarted;
    const exportedFile = testInfo.outputPath(download.suggestedFilename());
    await download.saveAs(exportedFile);

    await page.getByLabel('Import Guardian policy (JSON file)').setInputFiles(exportedFile);

    await expect(page.getByRole('status').filter({ hasText: `Imported “${policyName}”` })).toBeVisible();
    await expect(page.getByRole('link', { name: policyName, exact: true })).toHaveCount(2);
    await page.getByRole('link', { name: 'Open it' }).click();
    await page.getByRole('treeitem', { name: 'exported_block (Custom Logic)' }).click();
    await expect(page.getByLabel('Script Language')).toHaveValue('PYTHON');
    await expect(scriptLines(page)).toContainText(SCRIPT);
  });

  test('invalid JSON file is rejected', async ({ page }) => {
    await page.goto('/');

    await page.getByLabel('Import Guardian policy (JSON file)').setInputFiles({
      name: 'broken-policy.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{"name": "half a policy", '),
    });

    await expect(page.getByRole('alert')).toContainText('broken-policy.json is not valid JSON');
  });

  test('delete asks, then removes the policy', async ({ page }, testInfo) => {
    const policyName = `Policy for ${testInfo.title}`;
    await createPolicy(page, policyName);
    await page.getByRole('link', { name: 'All policies' }).click();
    await expect(page.getByRole('link', { name: policyName })).toBeVisible();

    const confirmMessages: string[] = [];
    page.on('dialog', (confirm) => confirmMessages.push(confirm.message()));

    page.once('dialog', (confirm) => void confirm.dismiss());
    await page.getByRole('button', { name: `Delete ${policyName}` }).click();
    await page.reload();
    await expect(page.getByRole('link', { name: policyName })).toBeVisible();

    page.once('dialog', (confirm) => void confirm.accept());
    await page.getByRole('button', { name: `Delete ${policyName}` }).click();
    await expect(page.getByRole('link', { name: policyName })).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole('link', { name: policyName })).toHaveCount(0);
    expect(confirmMessages).toEqual([
      `Delete the policy “${policyName}”? This cannot be undone.`,
      `Delete the policy “${policyName}”? This cannot be undone.`,
    ]);
  });
});
