import { expect, Browser, Page } from '@playwright/test';
import * as zlib from 'zlib';
import { test, customerSays, hydrated, link, repSays, seed, setHidden, shot, Who } from './helpers';

const s = seed();
const rep2 = s.reps[1];

async function open(browser: Browser, url: string): Promise<Page> {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(url);
  await hydrated(page);
  return page;
}

async function repChat(browser: Browser, rep: Who, customerId: number) {
  // Sign in through the contact-list link, as WeCom does, then open the chat.
  const page = await open(browser, link('/rep', rep));
  await expect(page).toHaveURL(/\/rep$/);
  await page.goto(`/rep/chat/${customerId}`);
  await hydrated(page);
  return page;
}

async function customerChat(browser: Browser, c: Who, repId: number) {
  const page = await open(browser, link(`/h5/chat?u_id=${repId}`, c));
  // Credentials leave the address bar; the rep id stays.
  await expect(page).toHaveURL(new RegExp(`/h5/chat\\?u_id=${repId}$`));
  return page;
}

async function send(page: Page, text: string) {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('send').click();
}

function bubbles(page: Page, text: string) {
  return page.getByTestId('messages').locator('li', { hasText: text });
}

test('rep and customer exchange messages live, both ways', async ({ browser }) => {
  const customer = s.customers[1];
  const rep = await repChat(browser, rep2, customer.id);
  const cust = await customerChat(browser, customer, rep2.id);
  // Both ends are on their conversation's socket, not on the REST fallback.
  await expect(rep.getByTestId('conn')).toHaveText('实时连接');
  await expect(cust.getByTestId('conn')).toHaveText('实时连接');

  const hello = `你好，我是李娜 ${Date.now()}`;
  await send(rep, hello);
  const mine = bubbles(rep, hello);
  await expect(mine).toHaveCount(1);
  await expect(mine).toHaveAttribute('data-id', /^\d+$/); // confirmed by its server id
  await expect(bubbles(cust, hello)).toHaveCount(1);
  await expect(bubbles(cust, hello)).toHaveClass(/theirs/);
  // The customer has the conversation open: the rep's bubble flips to 已读.
  await expect(mine.locator('.msg-status')).toHaveText('已读', { timeout: 15_000 });

  const reply = `收到，谢谢 👍 ${Date.now()}`;
  await send(cust, reply);
  await expect(bubbles(cust, reply)).toHaveCount(1);
  await expect(bubbles(rep, reply)).toHaveCount(1);
  await expect(bubbles(rep, reply)).toHaveClass(/theirs/);

  // Each side shows each message once, after a reload too.
  await rep.reload();
  await hydrated(rep);
  await expect(bubbles(rep, hello)).toHaveCount(1);
  await expect(bubbles(rep, reply)).toHaveCount(1);
  await shot(rep, 'rep-chat');
  await shot(cust, 'h5-chat');
  await rep.context().close();
  await cust.context().close();
});

test('markup and emoji in names and messages are shown as text', async ({ browser }) => {
  const c = s.extra.xss;
  const cust = await customerChat(browser, c, rep2.id);
  const evil = '<img src=x onerror="window.__xss=2"><script>window.__xss=3</script> 😀';
  await send(cust, evil);
  await expect(bubbles(cust, '<img src=x')).toHaveCount(1);
  const rep = await repChat(browser, rep2, c.id);
  await expect(rep.locator('.msg-text', { hasText: evil })).toHaveCount(1);
  await expect(rep.locator('.topbar-title')).toHaveText(c.name);
  expect(await rep.evaluate(() => (window as any).__xss)).toBeUndefined();
  expect(await cust.evaluate(() => (window as any).__xss)).toBeUndefined();
  await shot(rep, 'rep-chat-escaping');
  await rep.context().close();
  await cust.context().close();
});

test('offline customer gets the messages sent meanwhile exactly once', async ({ browser }) => {
  const c = s.extra.offline;
  const rep = await repChat(browser, rep2, c.id);
  const cust = await customerChat(browser, c, rep2.id);
  await send(rep, '上线前的消息');
  await expect(bubbles(cust, '上线前的消息')).toHaveCount(1);

  await cust.context().setOffline(true);
  await expect(cust.getByTestId('conn')).toHaveText('离线');
  const tag = Date.now();
  for (const i of [1, 2, 3]) {
    await send(rep, `离线期间的消息${i}-${tag}`);
    await expect(bubbles(rep, `离线期间的消息${i}-${tag}`)).toHaveAttribute('data-id', /^\d+$/);
  }
  await shot(cust, 'h5-chat-offline');
  await cust.context().setOffline(false);
  await expect(cust.getByTestId('conn')).toHaveText('实时连接', { timeout: 20_000 });
  for (const i of [1, 2, 3]) {
    await expect(bubbles(cust, `离线期间的消息${i}-${tag}`)).toHaveCount(1);
  }
  await expect(bubbles(cust, '上线前的消息')).toHaveCount(1);
  // Ids are unique on the page: nothing was appended twice.
  const ids = await cust.getByTestId('messages').locator('li[data-id]').evaluateAll(
    (els) => els.map((e) => e.getAttribute('data-id')));
  expect(new Set(ids).size).toBe(ids.length);
  // And they are in order.
  const nums = ids.map(Number);
  expect([...nums].sort((a, b) => a - b)).toEqual(nums);
  await rep.context().close();
  await cust.context().close();
});

test('chat without a rep id shows an error state', async ({ browser }) => {
  const c = s.customers[0];
  const page = await open(browser, link('/h5/chat', c));
  await expect(page.getByRole('alert')).toContainText('u_id');
  await page.context().close();
});

test('legacy links with the token in the query still sign in, and the token leaves the address bar at once', async ({ browser }) => {
  // The form links had before credentials moved to the fragment.
  const c = s.customers[1];
  const cust = await open(browser, `/h5/chat?user_id=${c.id}&token=${c.token}&u_id=${rep2.id}`);
  await expect(cust).toHaveURL(new RegExp(`/h5/chat\\?u_id=${rep2.id}$`));
  expect(await cust.evaluate(() => location.href)).not.toContain(c.token);
  await expect(cust.getByTestId('conn')).toHaveText('实时连接');
  await cust.context().close();

  const rep = s.reps[0];
  const page = await open(browser, `/rep?user_id=${rep.id}&token=${rep.token}`);
  await expect(page).toHaveURL(/\/rep$/);
  expect(await page.evaluate(() => location.href)).not.toContain(rep.token);
  await expect(page.getByTestId('contacts').locator('.contact').first()).toBeVisible();
  await page.context().close();
});

test("customer's unread badge follows gongzhonghao_query_info_num, up while hidden, down when read", async ({ browser, request }) => {
  const c = s.extra.unread;
  const cust = await customerChat(browser, c, rep2.id);
  await expect(cust.getByTestId('conn')).toHaveText('实时连接');
  await expect(cust.getByTestId('unread')).toHaveCount(0);

  // Looking at the chat: a rep message is read at once, no badge.
  const seen = `看得到的消息 ${Date.now()}`;
  await repSays(request, rep2, c.id, { info_type: 1, msg: seen });
  await expect(bubbles(cust, seen)).toHaveCount(1);
  await expect(cust.getByTestId('unread')).toHaveCount(0);

  // Another app in front: the rep's messages stay unread and the count goes up live.
  await setHidden(cust, true);
  await expect(cust.locator('.chat-page')).toHaveAttribute('data-mode', 'output');
  const tag = Date.now();
  await repSays(request, rep2, c.id, { info_type: 1, msg: `隐藏时的消息1-${tag}` });
  await expect(cust.getByTestId('unread')).toHaveText('1');
  await repSays(request, rep2, c.id, { info_type: 1, msg: `隐藏时的消息2-${tag}` });
  await expect(cust.getByTestId('unread')).toHaveText('2');
  await expect(cust).toHaveTitle(/^\(2\) /);
  await shot(cust, 'h5-chat-unread');

  // Back in front: read, and the count goes down to nothing.
  await setHidden(cust, false);
  await expect(cust.locator('.chat-page')).toHaveAttribute('data-mode', 'input');
  await expect(cust.getByTestId('unread')).toHaveCount(0);
  await expect(cust).not.toHaveTitle(/^\(/);
  await expect(bubbles(cust, `隐藏时的消息2-${tag}`)).toHaveCount(1);
  await cust.context().close();
});

test('"load earlier" pages back through a long conversation on both sides', async ({ browser, request }) => {
  const c = s.extra.history;
  const tag = Date.now();
  for (let i = 1; i <= 27; i++) {
    const msg = `历史消息${String(i).padStart(2, '0')}-${tag}`;
    if (i % 3 === 0) await customerSays(request, c, rep2.id, { info_type: 1, msg });
    else await repSays(request, rep2, c.id, { info_type: 1, msg });
  }
  for (const page of [await repChat(browser, rep2, c.id), await customerChat(browser, c, rep2.id)]) {
    const items = page.getByTestId('messages').locator('li[data-id]');
    await expect(items).toHaveCount(20);
    await expect(bubbles(page, `历史消息27-${tag}`)).toHaveCount(1);
    await expect(bubbles(page, `历史消息01-${tag}`)).toHaveCount(0);
    await page.locator('.load-earlier').click();
    await expect(items).toHaveCount(27);
    await expect(page.locator('.load-earlier')).toHaveCount(0);
    const texts = await items.locator('.msg-text').allTextContents();
    expect(texts).toEqual(Array.from({ length: 27 }, (_, i) => `历史消息${String(i + 1).padStart(2, '0')}-${tag}`));
    const ids = (await items.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id')))));
    expect(new Set(ids).size).toBe(27);
    await page.context().close();
  }
});

test('product card, image, video and ask-phone messages render in both chats', async ({ browser, request }) => {
  const c = s.extra.media;
  // Message URLs are http(s) or paths on this site (contract §6); this one is in public/.
  const png = '/demo-product.svg';
  await customerSays(request, c, rep2.id, {
    info_type: 2, product_name: '雷达专业版 <i>年付</i>', product_price: '1999.00', product_cover_url: png,
  });
  await repSays(request, rep2, c.id, { info_type: 4, url: png });
  await repSays(request, rep2, c.id, { info_type: 5, url: '/media/demo.mp4' });
  await repSays(request, rep2, c.id, { info_type: 3, msg: '方便留个电话吗？' });
  const rep = await repChat(browser, rep2, c.id);
  const cust = await customerChat(browser, c, rep2.id);
  for (const page of [rep, cust]) {
    const list = page.getByTestId('messages');
    const card = list.locator('.card-product');
    await expect(card).toHaveCount(1);
    await expect(card.locator('.card-title')).toHaveText('雷达专业版 <i>年付</i>');
    await expect(card.locator('.card-price')).toHaveText('¥1999.00');
    await expect(card.locator('img')).toHaveAttribute('src', png);
    await expect(list.locator('img.msg-image')).toHaveAttribute('src', png);
    await expect(list.locator('video.msg-video')).toHaveAttribute('src', '/media/demo.mp4');
    await expect(list.locator('.ask-phone')).toContainText('方便留个电话吗？');
  }
  // Each side sees the card on the customer's side of the conversation.
  await expect(rep.getByTestId('messages').locator('li.theirs .card-product')).toHaveCount(1);
  await expect(cust.getByTestId('messages').locator('li.mine .card-product')).toHaveCount(1);
  await expect(cust.getByTestId('messages').locator('li.theirs img.msg-image')).toHaveCount(1);
  await shot(rep, 'rep-chat-media');
  await shot(cust, 'h5-chat-media');
  await rep.context().close();
  await cust.context().close();
});

/** A real PNG (an RGB gradient), built here so the upload carries image bytes. */
function gradientPng(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = 160;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('the customer attaches a photo in /h5/chat and the rep sees it live', async ({ browser }) => {
  const c = s.extra.upload;
  const rep = await repChat(browser, rep2, c.id);
  const cust = await customerChat(browser, c, rep2.id);
  await expect(rep.getByTestId('conn')).toHaveText('实时连接');
  await expect(cust.getByTestId('conn')).toHaveText('实时连接');

  await cust.getByTestId('attach').setInputFiles({ name: '营业执照.png', mimeType: 'image/png', buffer: gradientPng(160, 120) });
  const mine = cust.getByTestId('messages').locator('li.mine img.msg-image');
  await expect(mine).toHaveCount(1);
  await expect(mine).toHaveAttribute('src', /^\/media\/[0-9a-f]{32}\.png$/);
  await expect(cust.getByTestId('attach-pending')).toHaveCount(0);
  const src = (await mine.getAttribute('src'))!;
  // The rep's panel shows it live, from the socket, and the picture loads.
  const theirs = rep.getByTestId('messages').locator('li.theirs img.msg-image');
  await expect(theirs).toHaveCount(1);
  await expect(theirs).toHaveAttribute('src', src);
  await expect.poll(() => theirs.evaluate((img: HTMLImageElement) => img.complete ? img.naturalWidth : 0)).toBe(160);
  // The link is the fallback before hydration; hydrated, a tap opens the
  // picture full size in the page, not in a new tab.
  const link = rep.getByTestId('messages').locator('li.theirs a.msg-image-link');
  await expect(link).toHaveAttribute('href', src);
  await shot(cust, 'h5-chat-upload');
  await shot(rep, 'rep-chat-upload');
  const viewer = rep.getByRole('dialog', { name: '查看图片' });
  await expect(viewer).toHaveCount(0);
  const pages = rep.context().pages().length;
  const url = rep.url();
  await link.click();
  await expect(viewer).toBeVisible();
  await expect(viewer).toHaveAttribute('aria-modal', 'true');
  const full = viewer.locator('img');
  await expect(full).toHaveAttribute('src', src);
  await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.complete ? img.naturalWidth : 0)).toBeGreaterThan(0);
  await shot(rep, 'rep-chat-image-viewer');
  await rep.keyboard.press('Escape');
  await expect(viewer).toHaveCount(0);
  expect(rep.context().pages().length).toBe(pages);
  expect(rep.url()).toBe(url);
  // The close button and a tap on the picture close it too.
  await link.click();
  await viewer.getByRole('button', { name: '关闭' }).click();
  await expect(viewer).toHaveCount(0);
  await link.click();
  await full.click();
  await expect(viewer).toHaveCount(0);

  // SVG is refused for what it is: the reason and only 取消, since the same
  // file would be refused again; nothing is sent.
  await cust.getByTestId('attach').setInputFiles({ name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') });
  const failed = cust.getByTestId('upload-failed');
  await expect(failed).toContainText('只能上传');
  await expect(failed.getByRole('button', { name: '取消' })).toBeVisible();
  await expect(failed.getByRole('button', { name: '重试' })).toHaveCount(0);
  await expect(cust.getByTestId('messages').locator('li.mine img.msg-image')).toHaveCount(1);
  await shot(cust, 'h5-chat-upload-refused');
  await failed.getByRole('button', { name: '取消' }).click();
  await expect(cust.getByTestId('attach-pending')).toHaveCount(0);

  // A failed transfer (here a 502 from a proxy) keeps 重试, which sends it.
  const upload = (u: URL) => u.pathname.endsWith('/chat/upload/0');
  await cust.route(upload, (r) => r.fulfill({ status: 502, body: 'Bad Gateway' }));
  await cust.getByTestId('attach').setInputFiles({ name: '门头.png', mimeType: 'image/png', buffer: gradientPng(90, 60) });
  await expect(failed).toContainText('502');
  await cust.unroute(upload);
  await failed.getByRole('button', { name: '重试' }).click();
  await expect(cust.getByTestId('messages').locator('li.mine img.msg-image')).toHaveCount(2);
  await expect(rep.getByTestId('messages').locator('li.theirs img.msg-image')).toHaveCount(2);
  await rep.context().close();
  await cust.context().close();
});
