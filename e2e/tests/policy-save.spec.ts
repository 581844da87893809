import { expect, test } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, openTestDialog, pasteScript, runTest, scriptLines, typeScript } from './support/studio.js';

// Indented on purpose: the saved script must come back with its Python blocks intact.
const SCRIPT_LINES = [
  'periods = []',
  'for record in documents:',
  "    subject = record['document']['credentialSubject'][0]",
  "    if subject['netElectricityMWh'] > 4000:",
  "        periods.append(subject['period'])",
  "done({'savedScriptRan': True, 'periodsOver4000MWh': periods})",
];

test.describe('Saving a policy', () => {
  test('script survives a reload', async ({ page }, testInfo) => {
    const policyName = `Policy for ${testInfo.title}`;
    await createPolicy(page, policyName);
    await addCustomLogicBlock(page);
    await page.getByLabel('Tag').fill('saved_python_block');
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, SCRIPT_LINES.join('\n'));
    await expect(page.getByText('Unsaved changes', { exact: true })).toBeVisible();

    await page.getByRole('button', { name: 'Save', exact: true }).click();

    await expect(page.getByText('Saved', { exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Save', exact: true })).toBeDisabled();

    await page.reload();
    await expect(page.getByRole('heading', { level: 1, name: policyName })).toBeVisible();
    await expect(page.getByText('Saved', { exact: true })).toBeVisible();
    await page.getByRole('treeitem', { name: 'saved_python_block (Custom Logic)' }).click();

    await expect(page.getByLabel('Script Language')).toHaveValue('PYTHON');
    for (const line of SCRIPT_LINES) {
      await expect(scriptLines(page)).toContainText(line.trim());
    }
    await expect(page.getByText('Saved', { exact: true })).toBeVisible();

    const dialog = await openTestDialog(page);
    await runTest(dialog);
    await expect(dialog.getByLabel('Result 1')).toContainText('"savedScriptRan": true');
    await expect(dialog.getByLabel('Result 1')).toContainText('"periodsOver4000MWh": [\n    "2024-Q1"\n  ]');
  });

  test('Ctrl+S saves from the editor', async ({ page }, testInfo) => {
    await createPolicy(page, `Policy for ${testInfo.title}`);
    await addCustomLogicBlock(page);
    await typeScript(page, ["done({ savedWith: 'keyboard' });"]);
    await expect(page.getByText('Unsaved changes', { exact: true })).toBeVisible();

    await page.keyboard.press('ControlOrMeta+S');

    await expect(page.getByText('Saved', { exact: true })).toBeVisible();
    await page.reload();
    await page.getByRole('treeitem', { name: /\(Custom Logic\)$/ }).click();
    await expect(scriptLines(page)).toContainText("done({ savedWith: 'keyboard' });");
  });
});
