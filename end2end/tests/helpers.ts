import { test as base, expect, Page, APIRequestContext, BrowserContext } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import * as crypto from 'crypto';

export interface Who { id: number; name: string; token: string }
export interface Seed {
  company_id: number;
  reps: Who[];
  customers: Who[];
  articles: { id: number; title: string }[];
  activity_id: number | null;
  /** Customers the harness created for isolated tests. */
  extra: { xss: Who; offline: Who; article: Who; unread: Who; live: Who; history: Who; media: Who; crowd: Who; signin: Who; search: Who; upload: Who };
}

/**
 * `test` with a guard on every browser context of the test (the default one and
 * those made with `browser.newContext`): any Content-Security-Policy violation
 * (a `securitypolicyviolation` event or Chromium's "Refused to …" console error)
 * fails the test.
 */
export const test = base.extend<{ cspGuard: void }>({
  cspGuard: [async ({ browser, context }, use, testInfo) => {
    const violations: string[] = [];
    const watch = async (ctx: BrowserContext) => {
      ctx.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await ctx.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
        });
      });
    };
    await watch(context);
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (...args: Parameters<typeof newContext>) => {
      const ctx = await newContext(...args);
      await watch(ctx);
      return ctx;
    };
    await use();
    browser.newContext = newContext;
    if (testInfo.annotations.some((a) => a.type === 'expect-csp-violation')) {
      expect(violations.length, 'the violation the test provoked was reported').toBeGreaterThan(0);
    } else {
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    }
  }, { auto: true }],
});

export function seed(): Seed {
  const file = process.env.E2E_SEED;
  if (!file) throw new Error('E2E_SEED is not set: run the suite through scripts/e2e.sh');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Saves a phone-viewport screenshot as a test artifact. */
export async function shot(page: Page, name: string) {
  const dir = path.join(__dirname, '..', 'test-results', process.env.E2E_SHOTS ?? 'screens');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/**
 * A page link as Radar hands them out: credentials in the fragment, which the
 * browser never sends to the server (contract §6 "Links"). `path` may carry a query.
 */
export function link(path: string, who: { id: number; token: string }): string {
  return `${path}#user_id=${who.id}&token=${who.token}`;
}

export function signed(who: Who): string {
  const ts = Date.now().toString();
  const rand = crypto.createHash('md5').update(ts + who.token).digest('hex');
  return `rand_str=${rand}&timestamp=${ts}&user_id=${who.id}`;
}

/** True when the server serves `path` (an API a parallel branch may not have merged yet). */
export async function hasApi(request: APIRequestContext, who: Who, apiPath: string): Promise<boolean> {
  const r = await request.get(`/zhugeleida/${apiPath}?${signed(who)}`);
  if (r.status() === 404) return false;
  const body = await r.json().catch(() => ({}));
  return body.code !== 404;
}

/** A message sent over REST, as another device or a third-party client would. */
export async function repSays(request: APIRequestContext, rep: Who, customerId: number, content: object): Promise<number> {
  const r = await request.post(`/zhugeleida/qiyeweixin/chat/send_msg/0?${signed(rep)}`, {
    form: { customer_id: String(customerId), user_id: String(rep.id), send_type: '1', content: JSON.stringify(content) },
  });
  const body = await r.json();
  expect(body.code, JSON.stringify(body)).toBe(200);
  return body.data.id;
}

export async function customerSays(request: APIRequestContext, c: Who, repId: number, content: object): Promise<number> {
  const r = await request.post(`/zhugeleida/gongzhonghao/chat/send_msg/0?${signed(c)}`, {
    form: { u_id: String(repId), send_type: '2', content: JSON.stringify(content) },
  });
  const body = await r.json();
  expect(body.code, JSON.stringify(body)).toBe(200);
  return body.data.id;
}

/** Makes the page believe it is hidden (another app in front) or visible again. */
export async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    if (h) {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    } else {
      delete (document as any).visibilityState;
      delete (document as any).hidden;
    }
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}
