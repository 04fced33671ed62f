import { expect } from '@playwright/test';
import { test, hasApi, hydrated, link, seed, shot } from './helpers';

const s = seed();
const rep = s.reps[0];
const article = s.articles[0];

function articleUrl(c: { id: number; token: string }) {
  // The documented link: the page learns the company and the activity from the server.
  return link(`/h5/article/${article.id}?uid=${rep.id}`, c);
}

test('sign-up form validates like the server', async ({ page }) => {
  const c = s.customers[4];
  await page.goto(articleUrl(c));
  await hydrated(page);
  await expect(page).toHaveURL(/uid=/);
  await expect(page).not.toHaveURL(/token=/);
  await page.getByTestId('signup').click();
  await expect(page.locator('[data-field="customer_name"]')).toHaveText('客户姓名不能为空');
  await expect(page.locator('[data-field="phone"]')).toHaveText('客户报名手机号不能为空');
  await expect(page.locator('[data-field="leave_message"]')).toHaveText('留言不能为空');
  await page.locator('input[name=phone]').fill('12345678901');
  await page.getByTestId('signup').click();
  await expect(page.locator('[data-field="phone"]')).toHaveText('手机号码格式错误');
  await page.getByRole('textbox', { name: '评论内容' }).fill('   ');
  await page.getByTestId('post-review').click();
  await expect(page.locator('[data-field="content"]')).toHaveText('内容不能为空');
  await page.getByRole('textbox', { name: '评论内容' }).fill('长'.repeat(1001));
  await expect(page.locator('.counter')).toHaveText('1001/1000');
  await page.getByTestId('post-review').click();
  await expect(page.locator('[data-field="content"]')).toContainText('不能超过1000个字符');
  await shot(page, 'h5-article-validation');
});

test('customer reviews and signs up; the rep timeline shows both', async ({ page, browser, request }) => {
  const c = s.extra.article;
  test.skip(!(await hasApi(request, c, `gongzhonghao/article/article_review_list/${article.id}`)), 'article API not on this server yet');
  await page.goto(articleUrl(c));
  await hydrated(page);
  await expect(page.getByTestId('article-title')).toHaveText(article.title);
  await expect(page.getByTestId('article-body').locator('p')).not.toHaveCount(0);
  await expect(page.getByTestId('article-body')).toContainText('演示文章');
  await expect(page.getByTestId('recs').locator('li')).not.toHaveCount(0);

  const review = `很有启发 <script>window.__xss=1</script> 👍 ${Date.now()}`;
  await page.getByRole('textbox', { name: '评论内容' }).fill(review);
  await page.getByTestId('post-review').click();
  await expect(page.getByTestId('review-result')).toContainText('审核');
  const mine = page.getByTestId('reviews').locator('.review', { hasText: review });
  await expect(mine).toHaveCount(1);
  await expect(mine.getByTestId('pending')).toHaveText('待审核');

  await page.locator('input[name=customer_name]').fill('读者小周');
  await page.locator('input[name=phone]').fill('13700001111');
  await page.locator('textarea[name=leave_message]').fill('想了解沙龙时间');
  await page.getByTestId('signup').click();
  await expect(page.getByTestId('signup-done')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  await shot(page, 'h5-article');

  const ctx = await browser.newContext();
  const rp = await ctx.newPage();
  await rp.goto(link('/rep', rep));
  await hydrated(rp);
  await rp.goto(`/rep/customer/${c.id}`);
  await hydrated(rp);
  const tl = rp.getByTestId('timeline');
  await expect(tl).toContainText(`报名参加了文章《${article.title}》的活动`);
  await expect(tl).toContainText(`评论了您的文章《${article.title}》`);
  await expect(tl).toContainText(`正在查看文章《${article.title}》`);
  await shot(rp, 'rep-customer-timeline');
  await ctx.close();
});

test('the article head is in the first HTML, without JavaScript, and survives hydration', async ({ page, browser }) => {
  // What a link preview sees: no script runs, no credentials.
  const nojs = await browser.newContext({ javaScriptEnabled: false });
  const np = await nojs.newPage();
  await np.goto(`/h5/article/${article.id}`);
  await expect(np).toHaveTitle(article.title);
  await expect(np.locator('meta[property="og:title"]')).toHaveAttribute('content', article.title);
  await expect(np.locator('meta[name="description"]')).toHaveAttribute('content', /.+/);
  await expect(np.getByTestId('article-title')).toHaveText(article.title);
  await expect(np.getByTestId('article-summary')).not.toBeEmpty();
  await nojs.close();

  // Hydrating over it neither fails nor loses it; without credentials the page
  // still explains what is missing, under the article's head.
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Hydration reads the head the server serialized into the page.
  const headCalls: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/article_head')) headCalls.push(r.url()); });
  await page.goto(`/h5/article/${article.id}`);
  await hydrated(page);
  await expect(page).toHaveTitle(article.title);
  await expect(page.getByTestId('article-title')).toHaveText(article.title);
  await expect(page.getByRole('alert')).toContainText('缺少登录信息');
  expect(errors).toEqual([]);
  expect(headCalls).toEqual([]);
  await shot(page, 'h5-article-no-credentials');
});
