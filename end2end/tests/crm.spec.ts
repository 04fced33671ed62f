import { expect, Page } from '@playwright/test';
import { test, customerSays, hasApi, hydrated, link, seed, shot, signed } from './helpers';

const s = seed();
const rep = s.reps[0];

async function names(page: Page): Promise<string[]> {
  return page.getByTestId('contacts').locator('.contact-name').allTextContents();
}

test('rep sorts the list, opens a customer, edits fields and tags, and sees them after reload', async ({ page, request }) => {
  test.skip(!(await hasApi(request, rep, 'qiyeweixin/tongxunlu')), 'CRM API not on this server yet');
  await page.goto(link('/rep', rep));
  await hydrated(page);
  await expect(page).toHaveURL(/\/rep$/);
  const list = page.getByTestId('contacts');
  await expect(list.locator('.contact').first()).toBeVisible();

  // Default order: expected deal probability, highest first, unknown last.
  const prs = (await list.locator('.pill-pr').allTextContents()).map((t) => (t === '—' ? -1 : parseInt(t, 10)));
  expect(prs.length).toBeGreaterThanOrEqual(5);
  expect([...prs].sort((a, b) => b - a)).toEqual(prs);
  expect((await names(page)).slice(0, 2)).toEqual(['王小明', '胡蓉💗Rose']);

  // Last follow-up: today, yesterday, four days ago, then never.
  await page.getByRole('button', { name: '最后跟进' }).click();
  await expect(page.getByRole('button', { name: '最后跟进' })).toHaveAttribute('aria-pressed', 'true');
  // Follow status, most recent first: 今天跟进, 昨天已跟进, dates, then 未跟进过 last.
  const followKey = (t: string) =>
    t === '今天跟进' ? '9999-99-99' : t === '昨天已跟进' ? '9999-99-98' : t === '未跟进过' ? '0000' : t;
  await expect.poll(async () => {
    const keys = (await list.locator('.pill-follow').allTextContents()).map(followKey);
    return keys.length >= 5 && keys.every((k, i) => i === 0 || keys[i - 1] >= k) && keys[0] === '9999-99-99'
      && keys[keys.length - 1] === '0000';
  }).toBe(true);
  const byFollow = await names(page);
  expect(byFollow.indexOf('_zzz จุ๊บ')).toBeGreaterThan(byFollow.indexOf('王小明'));
  expect(byFollow.indexOf('Chesnut')).toBeGreaterThan(byFollow.indexOf('_zzz จุ๊บ'));

  await page.getByRole('button', { name: '最后活动' }).click();
  await expect(page.getByRole('button', { name: '最后活动' })).toHaveAttribute('aria-pressed', 'true');
  await expect(list.locator('.contact').first()).toContainText('活动：今天');
  await shot(page, 'rep-contacts');

  // Open Chesnut, who has no deal fields yet.
  await list.locator('.contact', { hasText: 'Chesnut' }).getByRole('link', { name: '客户资料' }).click();
  await hydrated(page);
  await expect(page.getByTestId('customer-name')).toHaveText('Chesnut');

  // Deal probability: out of range is refused inline, then a valid value saves.
  const pr = page.getByRole('textbox', { name: '预计成交概率' });
  await pr.fill('150');
  await page.getByTestId('save-pr').click();
  await expect(page.locator('[data-field="expedted_pr"]')).toHaveText('预计成交概率必须是0到100的整数');
  await pr.fill('75%');
  await page.getByTestId('save-pr').click();
  await expect(page.getByTestId('pr-result')).toContainText('添加成功');
  // Another attempt with a bad value: the earlier "added" note goes, and the
  // slider stays where the last valid value put it.
  await pr.fill('150');
  await page.getByTestId('save-pr').click();
  await expect(page.locator('[data-field="expedted_pr"]')).toHaveText('预计成交概率必须是0到100的整数');
  await expect(page.getByTestId('pr-result')).toHaveCount(0);
  await expect(page.getByRole('slider', { name: '预计成交概率滑块' })).toHaveValue('75');
  await shot(page, 'rep-customer-pr-invalid');
  await pr.fill('75');

  await page.getByLabel('预计成交日期').fill('2027-03-15');
  await page.getByTestId('save-date').click();
  await expect(page.getByTestId('date-result')).toContainText('添加成功');

  // Profile: bad phone and e-mail are flagged where they are, nothing is sent.
  await page.locator('input[name=username]').fill('栗子先生');
  await page.locator('input[name=phone]').fill('12345');
  await page.locator('input[name=email]').fill('bad@');
  await page.getByTestId('save-info').click();
  await expect(page.locator('[data-field="phone"]')).toHaveText('手机号码格式错误');
  await expect(page.locator('[data-field="email"]')).toHaveText('邮箱格式错误');
  await expect(page.locator('[data-field="sex"]')).toHaveText('请选择性别');
  await expect(page.getByTestId('info-result')).toHaveText('请先改正标红的字段');
  await shot(page, 'rep-customer-validation');
  await page.locator('input[name=phone]').fill('13912345678');
  await page.locator('input[name=email]').fill('chesnut@example.com');
  await page.getByLabel('男').check();
  await page.locator('input[name=company]').fill('<b>栗子</b>科技');
  await page.getByTestId('save-info').click();
  await expect(page.getByTestId('info-result')).toContainText(/添加成功|修改成功/);

  // Tags: add a new one (it is attached to this customer), pick an existing one.
  await page.getByLabel('新标签').fill('e2e标签');
  await page.getByTestId('add-tag').click();
  await expect(page.locator('.tag-toggle[data-tag="e2e标签"]')).toHaveAttribute('aria-pressed', 'true');
  await page.locator('.tag-toggle[data-tag="重要客户"]').click();
  await expect(page.getByTestId('tags-result')).toContainText('添加成功');

  await page.getByLabel('跟进内容').fill('电话回访，客户很满意');
  await page.getByTestId('add-note').click();
  await expect(page.getByTestId('notes')).toContainText('电话回访，客户很满意');

  // Everything is still there after a reload.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('customer-name')).toHaveText('Chesnut');
  await expect(page.getByRole('textbox', { name: '预计成交概率' })).toHaveValue('75');
  await expect(page.getByLabel('预计成交日期')).toHaveValue('2027-03-15');
  await expect(page.locator('input[name=username]')).toHaveValue('栗子先生');
  await expect(page.locator('input[name=phone]')).toHaveValue('13912345678');
  await expect(page.locator('input[name=company]')).toHaveValue('<b>栗子</b>科技');
  await expect(page.getByLabel('男')).toBeChecked();
  await expect(page.locator('.tag-toggle[data-tag="e2e标签"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('.tag-toggle[data-tag="重要客户"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('notes')).toContainText('电话回访，客户很满意');
  await expect(page.getByTestId('notes')).toContainText('75');
  await shot(page, 'rep-customer');

  // Deleting a tag removes it.
  await page.getByRole('button', { name: '删除标签e2e标签' }).click();
  await expect(page.locator('.tag-toggle[data-tag="e2e标签"]')).toHaveCount(0);

  // The list shows the new probability.
  await page.getByRole('link', { name: '返回' }).click();
  await expect(page.getByTestId('contacts').locator('.contact', { hasText: 'Chesnut' }).locator('.pill-pr')).toHaveText('75%');
});

test('contact list updates live in the chosen order: under 最后活动 an article view and a new message move the row to the top with badge and last message', async ({ page, request }) => {
  const r1 = s.reps[0];
  const c = s.extra.live;
  const article = s.articles[0];
  await page.goto(link('/rep', r1));
  await hydrated(page);
  const rows = page.getByTestId('contacts').locator('.contact');
  await expect(rows.first()).toBeVisible();
  await expect(page.locator('.conn')).toHaveText('实时');
  // The new customer has neither probability nor chat: not on top.
  await expect(rows.first()).not.toHaveAttribute('data-customer-id', String(c.id));
  const badge = page.getByTestId('total-unread');
  const before = (await badge.count()) ? Number(await badge.textContent()) : 0;

  // The customer reads an article the rep shared (ContactChanged, no chat
  // yet). Sorted by deal probability, the row is updated where that order
  // puts it (no probability: after every row that has one), not moved to the top.
  const v = await request.post(`/zhugeleida/gongzhonghao/article/view_article/${article.id}?${signed(c)}`, {
    form: { uid: String(r1.id) },
  });
  expect((await v.json()).code).toBe(200);
  const mine = page.locator(`.contact[data-customer-id="${c.id}"]`);
  await expect(mine).toContainText('活动：今天');
  await expect(rows.first()).not.toHaveAttribute('data-customer-id', String(c.id));
  // Sorted by last activity, activity leads.
  await page.getByRole('button', { name: '最后活动' }).click();
  await expect(page.getByRole('button', { name: '最后活动' })).toHaveAttribute('aria-pressed', 'true');
  await expect(rows.first()).toHaveAttribute('data-customer-id', String(c.id));
  await expect(rows.first()).toContainText('活动：今天');
  await expect(rows.first().locator('.contact-last')).toHaveText('暂无消息');
  await expect(rows.first().getByTestId('unread')).toHaveCount(0);

  // Another customer writes: that row goes to the top.
  const other = s.customers[1];
  const otherMsg = `另一位客户 ${Date.now()}`;
  await customerSays(request, other, r1.id, { info_type: 1, msg: otherMsg });
  await expect(rows.first()).toHaveAttribute('data-customer-id', String(other.id));
  await expect(rows.first().locator('.contact-last')).toHaveText(otherMsg);

  // Our customer writes twice: back on top, with its unread badge and last message.
  const tag = Date.now();
  await customerSays(request, c, r1.id, { info_type: 1, msg: `第一条 ${tag}` });
  await customerSays(request, c, r1.id, { info_type: 1, msg: `在吗？<b>急</b> 😀 ${tag}` });
  await expect(rows.first()).toHaveAttribute('data-customer-id', String(c.id));
  await expect(rows.first().getByTestId('unread')).toHaveText('2');
  await expect(rows.first().locator('.contact-last')).toHaveText(`在吗？<b>急</b> 😀 ${tag}`);
  // The header badge is the rep's total from leida_query_info_num.
  await expect(badge).toHaveText(String(before + 3));
  await shot(page, 'rep-contacts-live');

  // Opening the chat reads them: back in the list, the badges go down.
  await rows.first().locator('.contact-main').click();
  await expect(page.getByTestId('messages').locator('li', { hasText: `第一条 ${tag}` })).toHaveCount(1);
  await page.getByRole('link', { name: '返回' }).click();
  await expect(rows.locator(`[data-customer-id="${c.id}"]`).getByTestId('unread')).toHaveCount(0);
  await expect(page.locator(`.contact[data-customer-id="${c.id}"]`).getByTestId('unread')).toHaveCount(0);
  await expect(badge).toHaveText(String(before + 1));
});

test('contact list loads more rows by scrolling', async ({ page }) => {
  const r = s.extra.crowd; // 26 customers, pages of 20
  await page.goto(link('/rep', r));
  await hydrated(page);
  const rows = page.getByTestId('contacts').locator('.contact');
  await expect(rows).toHaveCount(20);
  await expect(page.locator('.list-end')).toHaveCount(0);
  // Scrolling to the end loads the rest, without a click.
  await rows.last().scrollIntoViewIfNeeded();
  await page.mouse.wheel(0, 2000);
  await expect(rows).toHaveCount(26);
  await expect(page.locator('.list-end')).toHaveText('共 26 位客户');
  const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-customer-id')));
  expect(new Set(ids).size).toBe(26);
  await shot(page, 'rep-contacts-scrolled');
});
