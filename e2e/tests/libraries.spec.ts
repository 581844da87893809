import { expect, test } from '@playwright/test';

test.describe('Python libraries page', () => {
  test('lists the supported libraries', async ({ page }) => {
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Python libraries' }).click();

    const panel = page.getByRole('region', { name: 'Python libraries' });
    await expect(panel.getByRole('table').or(panel.getByRole('alert'))).toBeVisible();
    // Checked as text so that a failure prints the error notice the page shows.
    await expect(panel).not.toContainText('Could not load');
    await expect(panel.getByRole('table')).toBeVisible();
    for (const library of ['numpy', 'pandas', 'scipy']) {
      await expect(panel.getByRole('rowheader', { name: library, exact: true })).toBeVisible();
    }
    await expect(panel).toContainText('Python runs in Pyodide');
  });
});
