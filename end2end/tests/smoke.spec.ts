import { test, expect } from '@playwright/test';
import { hydrated, shot } from './helpers';

test('home page renders on the server and hydrates', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('h1')).toHaveText('诸葛雷达');
  await hydrated(page);
  await shot(page, 'home');
});

test('a page opened without credentials explains what is missing', async ({ page, context }) => {
  await context.clearCookies();
  await page.goto('/rep');
  await hydrated(page);
  await expect(page.getByRole('alert')).toContainText('缺少登录信息');
  await shot(page, 'rep-no-credentials');
});

test('unknown pages show a designed not-found state', async ({ page }) => {
  const r = await page.goto('/no/such/page');
  expect(r?.status()).toBe(404);
  await expect(page.getByText('页面不存在')).toBeVisible();
});
