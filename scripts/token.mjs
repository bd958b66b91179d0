// Mint a development JWT (HS256) signed with JWT_SECRET from .dev.vars.
// Usage: node scripts/token.mjs --handle demo --role OWNER [--ttl 86400] [--sub dev-user]
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function readSecret(path = '.dev.vars') {
  const line = readFileSync(path, 'utf8').split('\n').find((l) => l.startsWith('JWT_SECRET='));
  if (!line) throw new Error(`JWT_SECRET missing in ${path}`);
  return line.slice('JWT_SECRET='.length).trim().replace(/^"|"$/g, '');
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export function mint(secret, { handles, sub = 'dev-user', ttl = 86400, extra = {}, header = { alg: 'HS256', typ: 'JWT' } }) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub, handles, iat: now, exp: now + ttl, ...extra };
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = Object.fromEntries(
    process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
  );
  const handle = args.handle ?? 'demo';
  const role = (args.role ?? 'OWNER').toUpperCase();
  if (!['VIEWER', 'CREATOR', 'ADMIN', 'OWNER'].includes(role)) {
    console.error(`unknown role ${role}`);
    process.exit(2);
  }
  console.log(mint(readSecret(), { handles: { [handle]: role }, sub: args.sub ?? 'dev-user', ttl: Number(args.ttl ?? 86400) }));
}
