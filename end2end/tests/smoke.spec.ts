import { expect } from '@playwright/test';
import { test, hydrated, shot } from './helpers';

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

test('pages send the security headers and their CSP refuses injected scripts', async ({ page }) => {
  test.info().annotations.push({ type: 'expect-csp-violation' });
  const r = await page.goto('/');
  const h = r!.headers();
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBe('no-referrer');
  const csp = h['content-security-policy'] ?? '';
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src ')) ?? '';
  expect(scriptSrc).toMatch(/'nonce-[^']+'/);
  expect(scriptSrc).not.toContain("'unsafe-inline'");
  await hydrated(page);
  // An inline script without the nonce (what an injection would add) does not run.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = 1';
    document.head.appendChild(s);
    return new Promise((done) => setTimeout(() => done((window as any).__injected === 1), 200));
  });
  expect(ran).toBe(false);
});
