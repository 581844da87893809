import { expect, test } from '@playwright/test';
import {
  activeLineNumber,
  addCustomLogicBlock,
  clearScript,
  createPolicy,
  openTestDialog,
  pasteScript,
  pythonModeOf,
  resultTab,
  runTest,
  scriptLines,
  scriptTextbox,
  typeLines,
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
  test('runs a typed Python script', { tag: '@python' }, async ({ page }, testInfo) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await clearScript(page);
    await typeLines(page, [
      'total = 0',
      'for record in documents:',
      "total += record['document']['credentialSubject'][0]['netElectricityMWh']",
      '',
    ]);
    // Monaco keeps the loop body's indentation on the new line, so Backspace ends the loop body.
    await page.keyboard.press('Backspace');
    await typeLines(page, ["debug('total MWh', total)", "print('reports:', len(documents))", "done({'reports': len(documents), 'totalMWh': total})"]);

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    await expect(dialog.getByLabel('Run summary')).toContainText('completed');
    await expect(dialog.getByLabel('Run summary')).toContainText(pythonModeOf(testInfo));
    await expect(dialog.getByLabel('Result 1')).toContainText(`"totalMWh": ${SAMPLE_TOTAL_MWH}`);
    await expect(dialog.getByLabel('Result 1')).toContainText('"reports": 2');

    // One entry only: a debug() call left inside the loop would log twice.
    await resultTab(dialog, 'Debug log').click();
    await expect(visibleTabPanel(dialog).getByRole('listitem')).toHaveText([`total MWh ${SAMPLE_TOTAL_MWH}`]);

    await resultTab(dialog, 'Printed output').click();
    await expect(visibleTabPanel(dialog).getByLabel('Standard output')).toHaveText('reports: 2');

    await resultTab(dialog, 'Errors').click();
    await expect(visibleTabPanel(dialog)).toHaveText('The run raised no error.');
  });

  test('runs a typed JavaScript script', async ({ page }) => {
    await expect(page.getByLabel('Script Language')).toHaveValue('JAVASCRIPT');
    await typeScript(page, [
      'const total = documents.reduce((sum, record) => sum + record.document.credentialSubject[0].netElectricityMWh, 0);',
      "debug('total MWh', total);",
      'done({ reports: documents.length, totalMWh: total });',
    ]);

    const dialog = await openTestDialog(page);
    await runTest(dialog);

    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    await expect(dialog.getByLabel('Run summary')).toContainText('completed');
    await expect(dialog.getByLabel('Result 1')).toContainText(`"totalMWh": ${SAMPLE_TOTAL_MWH}`);
    await expect(dialog.getByLabel('Result 1')).toContainText('"reports": 2');

    await resultTab(dialog, 'Debug log').click();
    await expect(visibleTabPanel(dialog).getByRole('listitem')).toHaveText([`total MWh ${SAMPLE_TOTAL_MWH}`]);
  });

  test('error line moves the cursor', { tag: '@python' }, async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(
      page,
      [
        "subject = documents[0]['document']['credentialSubject'][0]",
        'scale = 1',
        "missing = subject['notInTheReport'] * scale",
        "done({'value': missing})",
      ].join('\n'),
    );
    // Pasting leaves the cursor on the last line.
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

    await scriptLines(page).getByText("missing = subject['notInTheReport'] * scale").hover();
    await expect(page.getByText('The last test run failed on line 3.')).toBeVisible();
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
    await expect(documentsField).toHaveAttribute('aria-invalid', 'false');
    await runTest(dialog);
    await expect(dialog.getByLabel('Result 1')).toContainText('"netElectricityMWh": 5');
  });
});
