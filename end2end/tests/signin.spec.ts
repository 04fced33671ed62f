import { expect } from '@playwright/test';
import { test, hydrated, seed, shot, signed } from './helpers';

// Sign-in inside WeCom and WeChat against the fake API that scripts/e2e.sh
// starts: its authorize page signs in at once the WeCom member that the seed
// mapped to the rep `extra.signin` (and, as a WeChat reader, a new customer).
const s = seed();
const rep = s.extra.signin;
const company = s.company_id;

test('a rep opens the WeCom app and lands on the contact list signed in', async ({ page, browser }) => {
  await page.goto(`/auth/wecom/${company}/start`);
  await hydrated(page);
  await expect(page).toHaveURL(/\/rep$/);
  await expect(page).not.toHaveURL(/token=/);
  const list = page.getByTestId('contacts');
  await expect(list.locator('.contact-name', { hasText: '企微登录的客户' })).toBeVisible();
  await shot(page, 'rep-signed-in-wecom');

  // Without credentials, a page that names its company offers the sign-in,
  // which comes back to the same page; without the company it cannot.
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await p.goto('/rep');
  await hydrated(p);
  await expect(p.getByRole('alert')).toContainText('缺少登录信息');
  await expect(p.getByRole('link', { name: '企业微信登录' })).toHaveCount(0);
  await p.goto(`/rep?company_id=${company}`);
  await hydrated(p);
  const offer = p.getByRole('link', { name: '企业微信登录' });
  await expect(offer).toHaveAttribute('href', `/auth/wecom/${company}/start?next=%2Frep%3Fcompany_id%3D${company}`);
  await shot(p, 'rep-sign-in-offer');
  await offer.click();
  await expect(p).toHaveURL(new RegExp(`/rep\\?company_id=${company}$`));
  await expect(p.getByTestId('contacts').locator('.contact-name', { hasText: '企微登录的客户' })).toBeVisible();
  await ctx.close();
});

test('a customer follows a shared article link and lands on the article signed in', async ({ page, browser, request }) => {
  const reader = s.extra.article;
  const [read, shared] = s.articles;
  // The link a rep's recommendation carries, as the API hands it out.
  const r = await request.get(
    `/zhugeleida/gongzhonghao/article/recommend_article_list/${read.id}?${signed(reader)}&uid=${rep.id}&company_id=${company}`,
  );
  const body = await r.json();
  expect(body.code, JSON.stringify(body)).toBe(200);
  const item = body.data.ret_data.find((i: { article_id: number }) => i.article_id === shared.id)
    ?? body.data.ret_data[0];
  const title = s.articles.find((a) => a.id === item.article_id)!.title;
  expect(item.article_url).toContain(`/auth/wechat/${company}/start?`);

  await page.goto(item.article_url);
  await hydrated(page);
  const landing = `/h5/article/${item.article_id}?uid=${rep.id}&company_id=${company}`;
  await expect(page).toHaveURL(new RegExp(`${landing.replace(/[?]/g, '\\?')}$`));
  await expect(page.getByTestId('article-title')).toHaveText(title);
  await expect(page.getByTestId('recs').locator('li')).not.toHaveCount(0);
  await expect(page.getByText('缺少登录信息')).toHaveCount(0);
  await shot(page, 'h5-article-signed-in-wechat');

  // Someone who opens a forwarded copy (no credentials) is offered the sign-in.
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await p.goto(landing);
  await hydrated(p);
  await expect(p.getByRole('alert')).toContainText('缺少登录信息');
  const offer = p.getByRole('link', { name: '微信登录' });
  await expect(offer).toHaveAttribute('href', new RegExp(`^/auth/wechat/${company}/start\\?next=.*&uid=${rep.id}$`));
  await shot(p, 'h5-article-sign-in-offer');
  await offer.click();
  await hydrated(p);
  await expect(p.getByTestId('recs').locator('li')).not.toHaveCount(0);
  await expect(p.getByText('缺少登录信息')).toHaveCount(0);
  await ctx.close();
});
