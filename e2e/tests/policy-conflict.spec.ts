import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, pasteScript, scriptLines } from './support/studio.js';

const BLOCK_NAME = 'shared_block (Custom Logic)';
const OTHER_SCRIPT = "done('saved by the other editor');";
const OWN_SCRIPT = "done('saved by this editor');";

/** Saves OTHER_SCRIPT from a second tab, so that the first tab's version is stale. */
async function saveFromOtherTab(context: BrowserContext, policyUrl: string): Promise<Page> {
  const otherTab = await context.newPage();
  await otherTab.goto(policyUrl);
  await otherTab.getByRole('treeitem', { name: BLOCK_NAME }).click();
  await pasteScript(otherTab, OTHER_SCRIPT);
  await otherTab.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(otherTab.getByText('Saved', { exact: true })).toBeVisible();
  return otherTab;
}

test.describe('Two tabs on one policy', () => {
  let policyUrl: string;

  test.beforeEach(async ({ page }, testInfo) => {
    await createPolicy(page, `Policy for ${testInfo.title}`);
    await addCustomLogicBlock(page);
    await page.getByLabel('Tag').fill('shared_block');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByText('Saved', { exact: true })).toBeVisible();
    policyUrl = page.url();
  });

  test('stale save offers reload', async ({ page, context }) => {
    await saveFromOtherTab(context, policyUrl);

    await page.bringToFront();
    await pasteScript(page, OWN_SCRIPT);
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    await expect(page.getByRole('alert').filter({ hasText: 'This policy was changed elsewhere.' })).toBeVisible();
    await expect(page.getByText('Unsaved changes', { exact: true })).toBeVisible();

    await page.getByRole('button', { name: 'Reload latest version' }).click();

    await expect(page.getByText('Saved', { exact: true })).toBeVisible();
    await expect(scriptLines(page)).toContainText(OTHER_SCRIPT);
    await expect(scriptLines(page)).not.toContainText(OWN_SCRIPT);
  });

  test('stale save offers overwrite', async ({ page, context }) => {
    const otherTab = await saveFromOtherTab(context, policyUrl);

    await page.bringToFront();
    await pasteScript(page, OWN_SCRIPT);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('button', { name: 'Overwrite with my changes' }).click();

    await expect(page.getByText('Saved', { exact: true })).toBeVisible();
    await expect(page.getByRole('alert').filter({ hasText: 'This policy was changed elsewhere.' })).toBeHidden();

    await otherTab.reload();
    await otherTab.getByRole('treeitem', { name: BLOCK_NAME }).click();
    await expect(scriptLines(otherTab)).toContainText(OWN_SCRIPT);
  });
});
