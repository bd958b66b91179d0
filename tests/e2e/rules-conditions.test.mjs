// The richer rule conditions (SPEC §11): language, query parameters, referrer and
// User-Agent patterns, time windows — through the real redirect and through explain.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnApp, UA } from '../harness/app.mjs';

let app;
before(async () => {
  app = await spawnApp();
});
after(() => app?.stop());

let n = 0;
function tenant() {
  const handle = `cond-${n++}`;
  const token = app.token({ [handle]: 'OWNER' });
  const call = (method, path, body) => app.api(method, `/v2/handles/${handle}${path}`, { body, token });
  return { handle, token, call };
}

/** A tracked link `slug` → https://default.example/, and one rule → https://hit.example/. */
async function linkWithRule(t, when, slug = 'l') {
  const c = await t.call('POST', '/campaigns', { campaignId: `c-${slug}`, goalType: 'PRODUCT_SALE', status: 'ACTIVE', primarySlug: slug });
  assert.equal(c.status, 201, c.text);
  const l = await t.call('PUT', `/links/${slug}`, { destinationUrl: 'https://default.example/', campaignId: `c-${slug}`, trackingPolicy: { forwardQuery: false } });
  assert.equal(l.status, 201, l.text);
  const r = await t.call('PUT', '/rules/the-rule', { priority: 10, when, variant: { id: 'hit', destinationUrl: 'https://hit.example/' } });
  assert.equal(r.status, 201, r.text);
  return r.body.rule;
}

const HIT = 'https://hit.example/';
const MISS = 'https://default.example/';
const go = async (t, path, opts) => (await app.click(`/${t.handle}${path}`, opts)).location;
const explain = (t, facts) => t.call('POST', '/rules/explain', { slug: 'l', ...facts });
/** [ruleId of the fired rule, failedCondition of the-rule]. */
const verdict = (r) => [r.body.ruleId, r.body.rules.find((x) => x.ruleId === 'the-rule').failedCondition];

describe('languageIn: the first language of Accept-Language', () => {
  test('matches its primary subtag, case-insensitively; a later language does not count', async () => {
    const t = tenant();
    const rule = await linkWithRule(t, { languageIn: ['de', 'fr'] });
    assert.deepEqual(rule.when, { languageIn: ['de', 'fr'] });
    const lang = (v) => go(t, '/l', { headers: { 'accept-language': v } });
    assert.equal(await lang('de-CH,de;q=0.9,en;q=0.8'), HIT);
    assert.equal(await lang('FR'), HIT);
    assert.equal(await lang('en-US,de;q=0.9'), MISS, 'only the first language');
    assert.equal(await lang('*'), MISS);
    assert.equal(await go(t, '/l'), MISS, 'no header');

    const yes = await explain(t, { language: 'de-AT' });
    assert.equal(yes.status, 200, yes.text);
    assert.deepEqual(verdict(yes), ['the-rule', null]);
    assert.equal(yes.body.visitor.language, 'de');
    assert.deepEqual(verdict(await explain(t, { language: 'en-GB,de' })), [null, 'languageIn']);
    assert.deepEqual(verdict(await explain(t, {})), [null, 'languageIn']);
  });
});

describe('queryHas: parameters present or equal', () => {
  test('{vip: null, tier: "gold"} needs vip present and tier equal to gold', async () => {
    const t = tenant();
    await linkWithRule(t, { queryHas: { vip: null, tier: 'gold' } });
    assert.equal(await go(t, '/l?vip&tier=gold'), HIT);
    assert.equal(await go(t, '/l?tier=gold&vip=0&x=1'), HIT);
    assert.equal(await go(t, '/l?tier=gold'), MISS, 'vip missing');
    assert.equal(await go(t, '/l?vip&tier=silver'), MISS, 'tier differs');
    assert.equal(await go(t, '/l?vip&tier=Gold'), MISS, 'values are case-sensitive');
    assert.equal(await go(t, '/l'), MISS);

    const yes = await explain(t, { query: { vip: null, tier: 'gold' } });
    assert.deepEqual(verdict(yes), ['the-rule', null]);
    assert.equal(yes.body.finalUrl, HIT, 'the link does not forward the query');
    assert.deepEqual(verdict(await explain(t, { query: { tier: 'gold' } })), [null, 'queryHas']);
    assert.deepEqual(verdict(await explain(t, { query: 'vip&tier=gold' })), ['the-rule', null], 'a raw query string too');
  });
});

describe('referrerMatches and userAgentMatches', () => {
  test('a referrer pattern; a missing Referer is matched as the empty string', async () => {
    const t = tenant();
    await linkWithRule(t, { referrerMatches: '(?i)^https://([a-z0-9-]+\\.)*newsletter\\.example/' });
    const ref = (referer) => go(t, '/l', { referer });
    assert.equal(await ref('https://News.Newsletter.example/issue/42'), HIT);
    assert.equal(await ref('https://newsletter.example.evil.example/'), MISS);
    assert.equal(await ref('http://newsletter.example/'), MISS);
    assert.equal(await go(t, '/l'), MISS);
    assert.deepEqual(verdict(await explain(t, { referrer: 'https://newsletter.example/x' })), ['the-rule', null]);
    assert.deepEqual(verdict(await explain(t, { referrer: 'https://www.google.com/' })), [null, 'referrerMatches']);

    const direct = tenant();
    await linkWithRule(direct, { referrerMatches: '^$' });
    assert.equal(await go(direct, '/l'), HIT, 'no Referer');
    assert.equal(await go(direct, '/l', { referer: 'https://a.example/' }), MISS);
  });

  test('a User-Agent pattern, after the other conditions', async () => {
    const t = tenant();
    await linkWithRule(t, { deviceIn: ['MOBILE'], userAgentMatches: '\\bExampleApp/[3-9]\\.' });
    const app3 = `${UA.iphone} ExampleApp/3.1`;
    assert.equal(await go(t, '/l', { ua: app3 }), HIT);
    assert.equal(await go(t, '/l', { ua: `${UA.iphone} ExampleApp/2.9` }), MISS);
    assert.equal(await go(t, '/l', { ua: `${UA.mac} ExampleApp/3.1` }), MISS, 'deviceIn still holds first');
    assert.deepEqual(verdict(await explain(t, { userAgent: app3 })), ['the-rule', null]);
    assert.deepEqual(verdict(await explain(t, { userAgent: UA.iphone })), [null, 'userAgentMatches']);
    assert.deepEqual(verdict(await explain(t, { userAgent: `${UA.mac} ExampleApp/3.1` })), [null, 'deviceIn']);
  });

  test('invalid or too-large patterns are 400 invalid_field naming the field', async () => {
    const t = tenant();
    const variant = { id: 'v', destinationUrl: 'https://v.example/' };
    for (const [field, pattern, why] of [
      ['referrerMatches', '(', /valid regular expression/],
      ['userAgentMatches', '[z-a]', /valid regular expression/],
      ['userAgentMatches', 'a{1000}{1000}', /too large/],
      ['referrerMatches', 'a{1000}', /too large/],
      ['referrerMatches', 'x'.repeat(257), /at most 256 characters/],
      ['userAgentMatches', `${'('.repeat(40)}a${')'.repeat(40)}`, /valid regular expression/],
      ['userAgentMatches', '\\p{Greek}', /valid regular expression/],
    ]) {
      const r = await t.call('PUT', '/rules/bad-rule', { when: { [field]: pattern }, variant });
      assert.deepEqual([r.status, r.body?.error?.code], [400, 'invalid_field'], `${pattern.slice(0, 20)}: ${r.text}`);
      assert.match(r.body.error.message, new RegExp(`when\\.${field}`));
      assert.match(r.body.error.message, why);
    }
    assert.equal((await t.call('GET', '/rules')).body.rules.length, 0, 'nothing written');
  });

  test('at most 4 enabled rules of a handle use patterns; a 5th is 400, disabled ones do not count', async () => {
    const t = tenant();
    const put = (id, when, enabled = true) => t.call('PUT', `/rules/${id}`, { enabled, when, variant: { id: 'v', destinationUrl: 'https://v.example/' } });
    for (const [i, when] of [{ userAgentMatches: 'a' }, { referrerMatches: 'b' }, { userAgentMatches: 'c', referrerMatches: 'd' }, { userAgentMatches: 'e' }].entries()) {
      assert.equal((await put(`pat-${i}`, when)).status, 201);
    }
    assert.equal((await put('plain', { countryIn: ['DE'] })).status, 201, 'rules without patterns are not limited');
    const fifth = await put('pat-4', { referrerMatches: 'f' });
    assert.deepEqual([fifth.status, fifth.body.error.code], [400, 'invalid_field'], fifth.text);
    assert.match(fifth.body.error.message, /^Field 'when' must not add another enabled pattern rule: 4 of the handle's enabled rules .* the most allowed is 4/);
    assert.equal((await put('pat-4', { referrerMatches: 'f' }, false)).status, 201, 'a disabled one is stored');
    assert.equal((await put('pat-4', { referrerMatches: 'f' })).status, 400, 'enabling it is refused too');
    assert.equal((await put('pat-0', { userAgentMatches: 'changed' })).status, 200, 'replacing one of the 4 is fine');
    assert.equal((await put('pat-1', { referrerMatches: 'b' }, false)).status, 200);
    assert.equal((await put('pat-4', { referrerMatches: 'f' })).status, 200, 'room again after one was disabled');
    assert.equal((await put('pat-1', { referrerMatches: 'b' })).status, 400, 'and now the other one is the 5th');
  });

  test('pathological patterns are accepted only when bounded: the redirect stays fast on long hostile input', async () => {
    const t = tenant();
    await linkWithRule(t, {
      referrerMatches: 'a{1,40}a{1,40}a{1,40}a{1,40}b',
      userAgentMatches: '(x+x+)+y|(a*)*b|(a|aa)+$c',
    });
    const hostile = 'a'.repeat(8000);
    const benign = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await go(t, '/l', { ua: UA.mac, referer: 'https://www.example.com/' });
      benign.push(performance.now() - t0);
    }
    const timings = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const loc = await go(t, '/l', { ua: hostile, referer: `https://${hostile}` });
      timings.push(performance.now() - t0);
      assert.equal(loc, MISS);
    }
    // Matched on the first 512 bytes only: a `b` beyond them does not count.
    assert.equal(await go(t, '/l', { ua: hostile, referer: `${'a'.repeat(100)}b` }), MISS, 'the UA pattern fails');
    assert.equal(await go(t, '/l', { ua: `${'a'.repeat(100)}b`, referer: `${'a'.repeat(100)}b` }), HIT);
    assert.equal(await go(t, '/l', { ua: `${'a'.repeat(511)}b`, referer: `${'a'.repeat(100)}b` }), HIT, 'byte 512 is matched');
    assert.equal(await go(t, '/l', { ua: `${'a'.repeat(512)}b`, referer: `${'a'.repeat(100)}b` }), MISS, 'input cut at 512 bytes');
    const worst = Math.max(...timings);
    const ms = (l) => l.map((x) => x.toFixed(1)).join(', ');
    console.log(`redirect round trips: ordinary ${ms(benign)} ms; hostile 8 KB UA+referrer ${ms(timings)} ms`);
    assert.ok(worst < 1000, `worst ${worst} ms`);
  });
});

describe('time windows (the dev clock sets the request time)', () => {
  const clockTo = async (iso) => {
    const r = await app.api('POST', '/v2/dev/clock', { token: null, body: { offsetMs: Date.parse(iso) - Date.now() } });
    assert.equal(r.status, 200, r.text);
  };
  after(async () => {
    await app.api('POST', '/v2/dev/clock', { token: null, body: { offsetMs: 0 } });
  });

  test('activeFrom inclusive, activeUntil exclusive', async () => {
    const t = tenant();
    const rule = await linkWithRule(t, { activeFrom: '2026-12-24T01:00:00+01:00', activeUntil: '2026-12-27T00:00:00Z' });
    assert.deepEqual(rule.when, { activeFrom: '2026-12-24T00:00:00.000Z', activeUntil: '2026-12-27T00:00:00.000Z' });
    for (const [at, want, failed] of [
      ['2026-12-23T23:59:30Z', MISS, 'activeFrom'],
      ['2026-12-24T00:00:30Z', HIT, null],
      ['2026-12-26T23:59:30Z', HIT, null],
      ['2026-12-27T00:00:30Z', MISS, 'activeUntil'],
    ]) {
      await clockTo(at);
      assert.equal(await go(t, '/l'), want, at);
      assert.deepEqual(verdict(await explain(t, { at })), [want === HIT ? 'the-rule' : null, failed], at);
    }
  });

  test('daysOfWeek in UTC', async () => {
    const t = tenant();
    await linkWithRule(t, { daysOfWeek: ['SUN', 'SAT'] });
    assert.deepEqual((await t.call('GET', '/rules/the-rule')).body.rule.when, { daysOfWeek: ['SAT', 'SUN'] });
    for (const [at, want] of [
      ['2027-01-01T23:59:00Z', MISS], // Friday
      ['2027-01-02T00:00:30Z', HIT], // Saturday
      ['2027-01-03T23:59:00Z', HIT], // Sunday
      ['2027-01-04T00:00:30Z', MISS], // Monday
    ]) {
      await clockTo(at);
      assert.equal(await go(t, '/l'), want, at);
    }
    assert.deepEqual(verdict(await explain(t, { at: '2027-01-03T23:30:00-05:00' })), [null, 'daysOfWeek'], 'Sunday in New York is Monday in UTC');
  });

  test('hoursUtc [start, end), and [22, 2) wraps past midnight', async () => {
    const t = tenant();
    await linkWithRule(t, { hoursUtc: [22, 2] });
    for (const [at, want] of [
      ['2027-01-04T21:59:00Z', MISS],
      ['2027-01-04T22:00:30Z', HIT],
      ['2027-01-04T23:30:00Z', HIT],
      ['2027-01-05T01:59:00Z', HIT],
      ['2027-01-05T02:00:30Z', MISS],
      ['2027-01-05T12:00:00Z', MISS],
    ]) {
      await clockTo(at);
      assert.equal(await go(t, '/l'), want, at);
    }
    const office = tenant();
    await linkWithRule(office, { hoursUtc: [9, 17] });
    assert.deepEqual(verdict(await explain(office, { at: '2027-01-05T16:59:59Z' })), ['the-rule', null]);
    assert.deepEqual(verdict(await explain(office, { at: '2027-01-05T17:00:00Z' })), [null, 'hoursUtc']);
  });
});

describe('explain and bad input', () => {
  test('the new visitor facts are echoed as evaluated; all conditions together', async () => {
    const t = tenant();
    await linkWithRule(t, {
      languageIn: ['de'],
      queryHas: { vip: null },
      referrerMatches: 'newsletter',
      userAgentMatches: 'Macintosh',
      daysOfWeek: ['MON'],
      hoursUtc: [9, 17],
      activeFrom: '2026-01-01T00:00:00Z',
    });
    const facts = { language: 'de-CH', query: { vip: null }, referrer: 'https://newsletter.example/', userAgent: UA.mac, at: '2027-01-04T10:00:00+00:00' };
    const r = await explain(t, facts);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(verdict(r), ['the-rule', null]);
    assert.deepEqual(
      { ...r.body.visitor, campaignId: undefined },
      { slug: 'l', campaignId: undefined, device: 'DESKTOP', country: 'XX', source: 'referral', language: 'de', query: 'vip', referrer: 'https://newsletter.example/', userAgent: UA.mac, at: '2027-01-04T10:00:00.000Z' },
    );
    for (const [k, v, failed] of [
      ['language', 'en', 'languageIn'],
      ['query', {}, 'queryHas'],
      ['at', '2027-01-05T10:00:00Z', 'daysOfWeek'],
      ['at', '2027-01-04T08:00:00Z', 'hoursUtc'],
      ['at', '2025-12-29T10:00:00Z', 'activeFrom'],
      ['referrer', 'https://other.example/', 'referrerMatches'],
      ['userAgent', UA.iphone, 'userAgentMatches'],
    ]) {
      assert.deepEqual(verdict(await explain(t, { ...facts, [k]: v })), [null, failed], `${k}=${JSON.stringify(v)}`);
    }
    // And through the real redirect, the same visitor on a Monday morning.
    await app.api('POST', '/v2/dev/clock', { token: null, body: { offsetMs: Date.parse('2027-01-04T10:00:00Z') - Date.now() } });
    try {
      const hit = await go(t, '/l?vip', { ua: UA.mac, referer: 'https://newsletter.example/', headers: { 'accept-language': 'de-CH' } });
      assert.equal(hit, HIT);
      const miss = await go(t, '/l?vip', { ua: UA.mac, referer: 'https://newsletter.example/', headers: { 'accept-language': 'en' } });
      assert.equal(miss, MISS);
    } finally {
      await app.api('POST', '/v2/dev/clock', { token: null, body: { offsetMs: 0 } });
    }
  });

  test('bad facts for explain → 400 invalid_field', async () => {
    const t = tenant();
    await linkWithRule(t, {});
    for (const facts of [{ at: 'noon' }, { query: { a: 1 } }, { query: 7 }, { language: 5 }, { referrer: 'x'.repeat(5000) }]) {
      const r = await explain(t, facts);
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], JSON.stringify(facts).slice(0, 60));
    }
  });

  const variant = { id: 'v', destinationUrl: 'https://v.example/' };
  for (const [name, when, field] of [
    ['upper-case language', { languageIn: ['EN'] }, 'languageIn'],
    ['a language tag, not a subtag', { languageIn: ['en-US'] }, 'languageIn'],
    ['queryHas not an object', { queryHas: ['vip'] }, 'queryHas'],
    ['queryHas number value', { queryHas: { vip: 1 } }, 'queryHas'],
    ['queryHas empty', { queryHas: {} }, 'queryHas'],
    ['activeFrom not RFC 3339', { activeFrom: '2026-12-24' }, 'activeFrom'],
    ['activeUntil before activeFrom', { activeFrom: '2026-12-24T00:00:00Z', activeUntil: '2026-12-23T00:00:00Z' }, 'activeUntil'],
    ['unknown day', { daysOfWeek: ['MONDAY'] }, 'daysOfWeek'],
    ['empty days', { daysOfWeek: [] }, 'daysOfWeek'],
    ['empty hour window', { hoursUtc: [9, 9] }, 'hoursUtc'],
    ['hour 25', { hoursUtc: [9, 25] }, 'hoursUtc'],
    ['fractional hour', { hoursUtc: [9.5, 12] }, 'hoursUtc'],
    ['one hour only', { hoursUtc: [9] }, 'hoursUtc'],
  ]) {
    test(`${name} → 400 invalid_field`, async () => {
      const r = await tenant().call('PUT', '/rules/bad-rule', { when, variant });
      assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_field'], r.text);
      assert.match(r.body.error.message, new RegExp(`when\\.${field}`));
    });
  }
});

test('GET /v2/meta lists the rule conditions and the days of the week', async () => {
  const { status, body } = await app.api('GET', '/v2/meta', { token: null });
  assert.equal(status, 200);
  assert.deepEqual(body.ruleConditions, [
    'campaignIn', 'deviceIn', 'countryIn', 'sourceIn', 'slugIn', 'languageIn', 'queryHas',
    'activeFrom', 'activeUntil', 'daysOfWeek', 'hoursUtc', 'referrerMatches', 'userAgentMatches',
  ]);
  assert.deepEqual(body.daysOfWeek, ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN']);
});
