import { expect, test, type Dialog } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, scriptLines, typeScript } from './support/studio.js';

// First code lines of the two starter scripts.
const PYTHON_STARTER_LINE = 'subjects = [record["document"]["credentialSubject"][0] for record in documents]';
const JAVASCRIPT_STARTER_LINE = 'const subjects = documents.map((record) => record.document.credentialSubject[0]);';
const EDITED_SCRIPT = "done({'mine': True})";

test.describe('Script Language', () => {
  test.beforeEach(async ({ page }, testInfo) => {
    await createPolicy(page, `Policy for ${testInfo.title}`);
    await addCustomLogicBlock(page);
  });

  test('untouched script switches without asking', async ({ page }) => {
    const dialogs: Dialog[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog);
      void dialog.dismiss();
    });
    await expect(scriptLines(page)).toContainText(JAVASCRIPT_STARTER_LINE);

    await page.getByLabel('Script Language').selectOption({ label: 'Python' });

    await expect(scriptLines(page)).toContainText(PYTHON_STARTER_LINE);
    await expect(scriptLines(page)).not.toContainText(JAVASCRIPT_STARTER_LINE);

    await page.getByLabel('Script Language').selectOption({ label: 'JavaScript' });

    await expect(scriptLines(page)).toContainText(JAVASCRIPT_STARTER_LINE);
    expect(dialogs.map((dialog) => dialog.message())).toEqual([]);
  });

  test('edited script asks; Cancel keeps it', async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await typeScript(page, [EDITED_SCRIPT]);

    const confirmShown = page.waitForEvent('dialog');
    const selected = page.getByLabel('Script Language').selectOption({ label: 'JavaScript' });
    const confirm = await confirmShown;
    expect(confirm.type()).toBe('confirm');
    expect(confirm.message()).toContain('Replace the script with the JavaScript starter script?');
    await confirm.dismiss();
    await selected;

    await expect(page.getByLabel('Script Language')).toHaveValue('JAVASCRIPT');
    await expect(scriptLines(page)).toContainText(EDITED_SCRIPT);
    await expect(scriptLines(page)).not.toContainText(JAVASCRIPT_STARTER_LINE);
  });

  test('edited script asks; OK replaces it', async ({ page }) => {
    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await typeScript(page, [EDITED_SCRIPT]);

    const confirmShown = page.waitForEvent('dialog');
    const selected = page.getByLabel('Script Language').selectOption({ label: 'JavaScript' });
    const confirm = await confirmShown;
    expect(confirm.message()).toContain('Replace the script with the JavaScript starter script?');
    await confirm.accept();
    await selected;

    await expect(page.getByLabel('Script Language')).toHaveValue('JAVASCRIPT');
    await expect(scriptLines(page)).toContainText(JAVASCRIPT_STARTER_LINE);
    await expect(scriptLines(page)).not.toContainText(EDITED_SCRIPT);
  });
});
