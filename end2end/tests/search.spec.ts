import { expect } from '@playwright/test';
import { test, customerSays, hydrated, link, repSays, seed, shot } from './helpers';

const s = seed();
const rep2 = s.reps[1];

test('the rep searches the chats and lands on the message, earlier pages loaded', async ({ browser, request }) => {
  const c = s.extra.search;
  const tag = Date.now().toString();
  const target = `您好，请给我开发票${tag}，抬头是雷达科技`;
  const targetId = await customerSays(request, c, rep2.id, { info_type: 1, msg: target });
  // 45 later messages: the target is on the third page of history.
  for (let i = 1; i <= 45; i++) {
    const msg = `后来的消息${String(i).padStart(2, '0')}`;
    if (i % 2 === 0) await customerSays(request, c, rep2.id, { info_type: 1, msg });
    else await repSays(request, rep2, c.id, { info_type: 1, msg });
  }
  const newer = await repSays(request, rep2, c.id, { info_type: 1, msg: `发票${tag}已经寄出` });

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(link('/rep', rep2));
  await hydrated(page);
  await expect(page).toHaveURL(/\/rep$/);

  await page.getByTestId('search-input').fill(`发票${tag}`);
  await page.getByTestId('search-input').press('Enter');
  const hits = page.getByTestId('search-results').locator('li.search-hit');
  await expect(hits).toHaveCount(2);
  // Newest first, each with the customer's name and the match marked.
  await expect(hits.nth(0)).toHaveAttribute('data-msg-id', String(newer));
  await expect(hits.nth(1)).toHaveAttribute('data-msg-id', String(targetId));
  await expect(hits.nth(1).locator('.contact-name')).toHaveText(c.name);
  await expect(hits.nth(1).locator('mark')).toHaveText(`发票${tag}`);
  await expect(hits.nth(1).locator('.search-snippet')).toHaveText(target);
  await expect(page.getByTestId('contacts')).toBeHidden();
  await shot(page, 'rep-search-results');

  await hits.nth(1).locator('a.contact-main').click();
  await expect(page).toHaveURL(new RegExp(`/rep/chat/${c.id}\\?msg=${targetId}$`));
  const bubble = page.locator(`#chat-scroll li[data-id="${targetId}"]`);
  await expect(bubble).toHaveClass(/msg-found/);
  await expect(bubble).toBeInViewport();
  await expect(bubble.locator('.msg-text')).toHaveText(target);
  await shot(page, 'rep-search-landed');
  // Every message from the target to the newest is there, once.
  const items = page.getByTestId('messages').locator('li[data-id]');
  expect(await items.count()).toBeGreaterThanOrEqual(47);
  // The highlight is brief.
  await expect(bubble).not.toHaveClass(/msg-found/, { timeout: 10_000 });

  // Cancelling the search shows the contact list again.
  await page.goBack();
  await hydrated(page);
  await page.getByTestId('search-input').fill('发');
  await page.getByTestId('search-input').press('Enter');
  await expect(page.getByTestId('search-count')).toBeVisible();
  await page.getByTestId('search-clear').click();
  await expect(page.getByTestId('contacts')).toBeVisible();
  await ctx.close();
});
