import { expect, test } from '@playwright/test';
import {
  activeLineNumber,
  addCustomLogicBlock,
  createPolicy,
  openTestDialog,
  resultTab,
  runTest,
  scriptTextbox,
  typeScript,
  visibleTabPanel,
} from './support/studio.js';

// The Test dialog opens with two sample monitoring reports of 4200 and 3900 MWh.
const SAMPLE_TOTAL_MWH = 8100;

test.beforeEach(async ({ page }, testInfo) => {
  await createPolicy(page, `Policy for ${testInfo.title}`);
  await addCustomLogicBlock(page);
});

test.describe('Test dialog', () => {
  test('runs a Python script', async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await typeScript(page, [
      "subjects = [record['document']['credentialSubject'][0] for record in documents]",
      "total = sum(subject['netElectricityMWh'] for subject in subjects)",
      "debug('total MWh', total)",
      "done({'reports': len(subjects), 'totalMWh': total})",
    ]);

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    await expect(dialog.getByLabel('Result 1')).toContainText(`"totalMWh": ${SAMPLE_TOTAL_MWH}`);
    await expect(dialog.getByLabel('Result 1')).toContainText('"reports": 2');
    await expect(dialog.getByLabel('Run summary')).toContainText('pyodide');

    await resultTab(dialog, 'Debug log').click();
    await expect(visibleTabPanel(dialog).getByRole('listitem')).toHaveText([`total MWh ${SAMPLE_TOTAL_MWH}`]);
  });

  test('runs a JavaScript script', async ({ page }) => {
    await expect(page.getByLabel('Script Language')).toHaveValue('JAVASCRIPT');
    await typeScript(page, [
      'const subjects = documents.map((record) => record.document.credentialSubject[0]);',
      'const total = subjects.reduce((sum, subject) => sum + subject.netElectricityMWh, 0);',
      "debug('total MWh', total);",
      'done({ reports: subjects.length, totalMWh: total });',
    ]);

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    await expect(dialog.getByLabel('Result 1')).toContainText(`"totalMWh": ${SAMPLE_TOTAL_MWH}`);
    await expect(dialog.getByLabel('Result 1')).toContainText('"reports": 2');

    await resultTab(dialog, 'Debug log').click();
    await expect(visibleTabPanel(dialog).getByRole('listitem')).toHaveText([`total MWh ${SAMPLE_TOTAL_MWH}`]);
  });

  test('error line moves the cursor', async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await typeScript(page, [
      "subject = documents[0]['document']['credentialSubject'][0]",
      'scale = 1',
      "missing = subject['notInTheReport'] * scale",
      "done({'value': missing})",
    ]);
    // Typing leaves the cursor on the last line.
    await expect(activeLineNumber(page)).toHaveText('4');

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Errors')).toHaveAttribute('aria-selected', 'true');
    const errorView = visibleTabPanel(dialog).getByRole('alert');
    await expect(errorView).toContainText('KeyError');
    await expect(errorView).toContainText('notInTheReport');

    await errorView.getByRole('button', { name: /^line 3\b/ }).click();

    await expect(dialog).toBeHidden();
    await expect(activeLineNumber(page)).toHaveText('3');
    await expect(scriptTextbox(page)).toBeFocused();
  });

  test('invalid documents JSON disables Run', async ({ page }) => {
    const dialog = await openTestDialog(page);
    const documentsField = dialog.getByLabel('Input documents (JSON)');
    const runButton = dialog.getByRole('button', { name: 'Run', exact: true });
    await expect(runButton).toBeEnabled();

    await documentsField.fill('[{"document": {"credentialSubject": [');

    await expect(dialog.getByRole('alert')).toContainText('Input documents is not valid JSON');
    await expect(documentsField).toHaveAttribute('aria-invalid', 'true');
    await expect(runButton).toBeDisabled();

    await documentsField.fill('[{"document": {"credentialSubject": [{"netElectricityMWh": 5}]}}]');

    await expect(dialog.getByRole('alert')).toHaveCount(0);
    await expect(runButton).toBeEnabled();
    await runTest(dialog);
    await expect(dialog.getByLabel('Result 1')).toContainText('"netElectricityMWh": 5');
  });
});
