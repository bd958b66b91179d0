// The Worker's HTTP API, as the benchmarks use it: seed a campaign, its short
// link and three personalization rules, read the funnel.
import { mint } from '../../scripts/token.mjs';
import { sleep } from './env.mjs';

export const HANDLE = 'bench';

export function client(base, secret) {
  const token = mint(secret, { handles: { [HANDLE]: 'OWNER' }, sub: 'bench' });
  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: r.status, body: json, text };
  }
  const must = async (what, p, ok = [200, 201]) => {
    const r = await p;
    if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${r.text}`);
    return r;
  };
  return { api, must, token };
}

/**
 * The three rules of the redirect benchmark, in evaluation order (priority desc).
 * A desktop Chrome visitor arriving with ?utm_source=email fails the first two
 * and matches the third, so every condition of every rule is evaluated and the
 * variant's destination is used.
 */
export function benchRules(campaignId) {
  return [
    {
      ruleId: 'mobile-variant',
      priority: 300,
      when: { campaignIn: [campaignId], deviceIn: ['MOBILE'] },
      variant: { id: 'mobile', destinationUrl: 'https://m.shop.example.com/spring' },
    },
    {
      ruleId: 'asia-variant',
      priority: 200,
      when: { countryIn: ['JP', 'KR', 'SG'], deviceIn: ['DESKTOP', 'TABLET'] },
      variant: { id: 'asia', destinationUrl: 'https://asia.shop.example.com/spring' },
    },
    {
      ruleId: 'desktop-email',
      priority: 100,
      when: { campaignIn: [campaignId], deviceIn: ['DESKTOP'], sourceIn: ['email'] },
      variant: { id: 'desktop-email', destinationUrl: 'https://shop.example.com/desktop' },
    },
  ];
}

/**
 * An ACTIVE campaign with a DIRECT-tracked link (appendContextParam: true)
 * and, optionally, the three rules. Returns the short path.
 */
export async function seedCampaign(c, { campaignId, slug, rules = true }) {
  const H = `/v2/handles/${HANDLE}`;
  await c.must('create campaign', c.api('POST', `${H}/campaigns`, {
    campaignId,
    goalType: 'PRODUCT_SALE',
    status: 'ACTIVE',
    primarySlug: slug,
  }));
  await c.must('create link', c.api('PUT', `${H}/links/${slug}`, {
    destinationUrl: 'https://shop.example.com/spring',
    campaignId,
    trackingPolicy: { mode: 'DIRECT', appendContextParam: true },
  }));
  if (rules) {
    for (const r of benchRules(campaignId)) {
      const { ruleId, ...body } = r;
      await c.must(`rule ${ruleId}`, c.api('PUT', `${H}/rules/${ruleId}`, { enabled: true, ...body }));
    }
  }
  return `/${HANDLE}/${slug}`;
}

export async function funnel(c, campaignId) {
  const r = await c.must('funnel', c.api('GET', `/v2/handles/${HANDLE}/analytics?funnel=true&campaignId=${campaignId}`), [200]);
  return r.body.funnel[0];
}

/**
 * Polls the funnel until `clicks` reaches `target` (when given) or has not
 * moved for `quietMs`. Returns { clicks, settledAfterMs, funnel }.
 */
export async function waitSettled(c, campaignId, { target, quietMs = 3000, timeoutMs = 600_000, intervalMs = 250 } = {}) {
  const t0 = Date.now();
  let last = -1;
  let lastChange = Date.now();
  let f;
  for (;;) {
    f = await funnel(c, campaignId);
    if (f.clicks !== last) [last, lastChange] = [f.clicks, Date.now()];
    const reached = target !== undefined && f.clicks >= target;
    if (reached || Date.now() - lastChange > quietMs || Date.now() - t0 > timeoutMs) break;
    await sleep(intervalMs);
  }
  return { clicks: f.clicks, settledAfterMs: Date.now() - t0, funnel: f };
}
