import { expect, test, type Locator, type Page } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, openTestDialog, pasteScript, resultTab, runTest } from './support/studio.js';

const EXAMPLE_POLICY_NAME = 'Grid-connected solar: emission reductions';
const REPORT_TITLE = 'Emission reduction report';

async function openExamplePolicy(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByRole('link', { name: EXAMPLE_POLICY_NAME }).click();
  await expect(page.getByRole('heading', { level: 1, name: EXAMPLE_POLICY_NAME })).toBeVisible();
}

function schemaCard(page: Page, title: string): Locator {
  return page.getByRole('region', { name: 'Schemas' }).getByRole('article', { name: `Schema ${title}` });
}

async function expectReadOnlyGuardianVersion(card: Locator): Promise<void> {
  const row = card.getByRole('row', { name: /^guardianVersion\b/ });
  await expect(row).toContainText('read-only');
  await expect(row).toContainText('default');
}

test.describe('Schemas', () => {
  test('example schema shows read-only guardianVersion', async ({ page }) => {
    await openExamplePolicy(page);

    const card = schemaCard(page, REPORT_TITLE);
    await expect(card).toBeVisible();
    await expect(card.getByRole('row', { name: /^emissionReductions\b/ })).toContainText('number');
    await expectReadOnlyGuardianVersion(card);

    await page.getByRole('treeitem', { name: 'calculate_reductions_javascript (Custom Logic)' }).click();
    await page.getByText('Output settings').click();
    const outputSchema = page.getByLabel('Output schema');
    await expect(outputSchema).toHaveValue('#EmissionReductionReport');
    await expect(outputSchema.getByRole('option', { name: `${REPORT_TITLE} (#EmissionReductionReport)` })).toBeAttached();
  });

  test('new schema gets guardianVersion, then deleted', async ({ page }) => {
    await createPolicy(page, `Schema editing ${Date.now()}`);
    const form = page.getByRole('form', { name: 'New schema' });
    await form.getByLabel('Schema title').fill('Meter reading');
    await form.getByLabel('Field 1 name').fill('meterId');
    await form.getByRole('group', { name: 'Field 1' }).getByLabel('required').check();
    await form.getByRole('button', { name: 'Add field' }).click();
    await form.getByLabel('Field 2 name').fill('readOn');
    await form.getByLabel('Field 2 type').selectOption('date');
    await form.getByRole('button', { name: 'Create schema' }).click();

    const card = schemaCard(page, 'Meter reading');
    await expect(card).toBeVisible();
    await expect(card.getByRole('row', { name: /^meterId\b/ })).toContainText('required');
    await expect(card.getByRole('row', { name: /^readOn\b/ })).toContainText('string (date)');
    await expectReadOnlyGuardianVersion(card);

    // The schema write moved the policy version on; a later save must still succeed.
    await page.getByRole('button', { name: 'Add Custom Logic block' }).click();
    await expect(form.getByRole('button', { name: 'Create schema' })).toBeDisabled();
    await expect(card.getByRole('button', { name: 'Delete schema Meter reading' })).toBeDisabled();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByText('Saved', { exact: true })).toBeVisible();

    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Delete schema Meter reading' }).click();
    await expect(card).toHaveCount(0);
  });

  test('invalid schema shows the server error', async ({ page }) => {
    await createPolicy(page, `Schema errors ${Date.now()}`);
    const form = page.getByRole('form', { name: 'New schema' });
    await form.getByLabel('JSON', { exact: true }).check();
    await form.getByLabel('Schema (JSON)').fill('{"title": "Broken", "type": "array"}');
    await form.getByRole('button', { name: 'Create schema' }).click();
    await expect(form.getByRole('alert')).toContainText('Could not create the schema');
  });
});

test.describe('Test dialog with schemas', () => {
  test.beforeEach(async ({ page }) => {
    await openExamplePolicy(page);
    await page.getByRole('treeitem', { name: 'calculate_reductions_javascript (Custom Logic)' }).click();
  });

  test('Output toggles raw done() values', async ({ page }) => {
    const dialog = await openTestDialog(page);
    await runTest(dialog);
    await expect(resultTab(dialog, 'Output')).toHaveAttribute('aria-selected', 'true');

    const rawToggle = dialog.getByLabel('Show raw done() values');
    await expect(rawToggle).toBeChecked();
    await expect(dialog.getByLabel('Result 1')).toContainText('"emissionReductions": 2812.842');

    await rawToggle.uncheck();
    await expect(dialog.getByLabel('Result 1')).toHaveCount(0);
    const documents = dialog.getByLabel('Output documents');
    await expect(documents).toContainText('VerifiableCredential');
    await expect(documents).toContainText('"emissionReductions": 2812.842');

    await resultTab(dialog, 'Debug log').click();
    await resultTab(dialog, 'Output').click();
    await expect(rawToggle).not.toBeChecked();
    await expect(dialog.getByLabel('Output documents')).toBeVisible();
  });

  test('Generate from schema fills input documents', async ({ page }) => {
    const dialog = await openTestDialog(page);
    await expect(dialog.getByLabel('Schema for generated input')).toHaveValue('#EmissionReductionReport');
    await dialog.getByRole('button', { name: 'Generate from schema' }).click();

    const input = dialog.getByLabel('Input documents (JSON)');
    const generated = JSON.parse(await input.inputValue()) as unknown;
    expect(generated).toEqual([
      {
        projectId: 'example',
        period: 'example',
        baselineEmissions: 0,
        projectEmissions: 0,
        leakageEmissions: 0,
        emissionReductions: 0,
      },
    ]);
  });

  test('CSV file is sent under its fileId', async ({ page }) => {
    const dialog = await openTestDialog(page);
    await dialog.getByLabel('Table fileId').fill('meters');
    await dialog.getByLabel('CSV file for the table').setInputFiles({
      name: 'meters.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('meterId,mwh\nm1,5\nm2,7\n'),
    });
    await expect(dialog.getByRole('list', { name: 'Attached tables' })).toContainText('meters ← meters.csv (3 lines)');

    const request = page.waitForRequest((candidate) => candidate.url().includes('/dry-run') && candidate.method() === 'POST');
    await runTest(dialog);
    const body = (await request).postDataJSON() as { input: { tables?: Record<string, unknown> } };
    expect(body.input.tables).toEqual({ meters: 'meterId,mwh\nm1,5\nm2,7\n' });
  });
});

test('script reads rows of an attached CSV file', async ({ page }) => {
  await createPolicy(page, `CSV tables ${Date.now()}`);
  await addCustomLogicBlock(page);
  await page.getByLabel('Script Language').selectOption('JAVASCRIPT');
  await pasteScript(page, "done({ meters: table.rows({ type: 'table', fileId: 'meters' }) });");

  const dialog = await openTestDialog(page);
  await dialog.getByLabel('Table fileId').fill('meters');
  await dialog.getByLabel('CSV file for the table').setInputFiles({
    name: 'meters.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('meterId,mwh\nm1,5\nm2,7\n'),
  });
  await runTest(dialog);

  const result = dialog.getByLabel('Result 1');
  await expect(result).toContainText('"meterId": "m1"');
  await expect(result).toContainText('"meterId": "m2"');
});
