import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';

/** Returns the Python mode of the server the current project tests: "pyodide" or "docker". */
export function pythonModeOf(testInfo: TestInfo): string {
  const mode: unknown = testInfo.project.metadata.pythonMode;
  if (typeof mode !== 'string') {
    throw new Error(`Project "${testInfo.project.name}" has no metadata.pythonMode; set it in playwright.config.ts.`);
  }
  return mode;
}

/** Opens the policy list, creates a policy named `name` and waits for its editor page. */
export async function createPolicy(page: Page, name: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('New policy name').fill(name);
  await page.getByRole('button', { name: 'Create policy' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

/** Adds a Custom Logic block under the selected block and waits until Monaco shows its script. */
export async function addCustomLogicBlock(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Add Custom Logic block' }).click();
  await expect(page.getByRole('treeitem', { name: /\(Custom Logic\)$/, selected: true })).toBeVisible();
  await expect(scriptLines(page)).toContainText('done(');
}

/** Returns Monaco's accessible text area, labelled "Script". */
export function scriptTextbox(page: Page): Locator {
  return page.getByRole('textbox', { name: 'Script', exact: true });
}

// Monaco draws the script as line elements with no accessible role, so these two
// locators use its CSS classes. Both match what is on the author's screen.

/** Returns the script's lines as Monaco renders them. */
export function scriptLines(page: Page): Locator {
  return page.locator('.monaco-editor .view-lines');
}

/** Returns the highlighted line number of the line that contains the cursor. */
export function activeLineNumber(page: Page): Locator {
  return page.locator('.monaco-editor .line-numbers.active-line-number');
}

/** Clicks into the script editor, selects everything with the keyboard and deletes it. */
export async function clearScript(page: Page): Promise<void> {
  await scriptLines(page).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await expect(scriptLines(page)).toHaveText('');
}

/**
 * Types `lines` at the cursor, pressing Enter between them. Escape closes the suggestion
 * widget before each Enter, because Enter would otherwise accept a suggestion. Monaco
 * indents a new line itself (after a line ending in ":" or "{", and to the previous
 * line's depth), so the lines carry no indentation of their own.
 */
export async function typeLines(page: Page, lines: string[]): Promise<void> {
  for (const [index, line] of lines.entries()) {
    await page.keyboard.type(line);
    await page.keyboard.press('Escape');
    if (index < lines.length - 1) {
      await page.keyboard.press('Enter');
    }
  }
}

/** Replaces the whole script by typing it, key by key. */
export async function typeScript(page: Page, lines: string[]): Promise<void> {
  await clearScript(page);
  await typeLines(page, lines);
}

/**
 * Replaces the whole script by pasting `text`, as an author pastes a script written
 * elsewhere. Pasting keeps indentation exact and takes a fraction of the time of typing.
 */
export async function pasteScript(page: Page, text: string): Promise<void> {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await clearScript(page);
  // Only the system clipboard is written here, as copying from another program would.
  await page.evaluate((clipboardText) => navigator.clipboard.writeText(clipboardText), text);
  await page.keyboard.press('ControlOrMeta+V');
}

/** Opens the Test dialog of the selected Custom Logic block. */
export async function openTestDialog(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: /^Test “/ });
  await expect(dialog).toBeVisible();
  return dialog;
}

/** Presses Run in the Test dialog and waits until the run's result tabs appear. */
export async function runTest(dialog: Locator): Promise<void> {
  await dialog.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(dialog.getByRole('tablist', { name: 'Run results' })).toBeVisible({ timeout: 60_000 });
}

/** Returns a result tab of the Test dialog. Names match exactly, because "Printed output" contains "Output". */
export function resultTab(dialog: Locator, name: 'Output' | 'Debug log' | 'Printed output' | 'Errors'): Locator {
  return dialog.getByRole('tab', { name, exact: true });
}

/** Returns the panel of the selected result tab, the only one with a role because hidden panels have none. */
export function visibleTabPanel(dialog: Locator): Locator {
  return dialog.getByRole('tabpanel');
}
