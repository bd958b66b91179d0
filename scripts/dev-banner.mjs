// Printed by `make dev` before wrangler starts: a dev token and a copy-paste example.
import { mint, readSecret } from './token.mjs';

const port = process.argv[2] ?? '8787';
const token = mint(readSecret(), { handles: { demo: 'OWNER' }, ttl: 7 * 86400 });
const base = `http://127.0.0.1:${port}`;
console.log(`
edge-funnel dev server → ${base}   (dashboard: ${base}/app/)

Development JWT (OWNER of handle "demo", 7 days):
  export TOKEN=${token}

Try it:
  curl -s -X POST ${base}/v2/handles/demo/campaigns -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"campaignId":"spring-launch","goalType":"PRODUCT_SALE","status":"ACTIVE","primarySlug":"spring-promo"}'
  curl -s -X PUT ${base}/v2/handles/demo/links/spring-promo -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"destinationUrl":"https://shop.example.com/spring","campaignId":"spring-launch","trackingPolicy":{"mode":"DIRECT","appendContextParam":true}}'
  # a browser User-Agent: curl's own is a bot (counted, never as a qualified click)
  curl -si -A 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1' ${base}/demo/spring-promo | grep -i location
`);
