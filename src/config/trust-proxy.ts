import { isIP } from 'node:net';

/**
 * What Fastify's `trustProxy` accepts: `false` (the socket's peer is the client), `true` (trust
 * every hop: the left-most `X-Forwarded-For` entry, which the client itself writes), or the
 * proxies' addresses and CIDR ranges (proxy-addr's names `loopback`, `linklocal` and
 * `uniquelocal` too). Fastify 5 no longer honours a hop count (it trusts nothing then), because
 * a count cannot tell the load balancer from a client that connects directly; so a count is
 * refused here rather than silently ignored.
 */
export type TrustProxy = boolean | readonly string[];

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Parses TRUST_PROXY; undefined with a problem when it is none of the forms above. */
export function parseTrustProxy(raw: string): { value?: TrustProxy; problem?: string } {
  if (raw === 'true') return { value: true };
  if (raw === 'false') return { value: false };
  if (/^\d+$/.test(raw)) {
    return {
      problem:
        'cannot be a hop count (it cannot tell the load balancer from a client that connects directly); list the load balancer’s addresses or CIDR, e.g. 10.0.0.0/8',
    };
  }
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !isAddressOrRange(e));
  if (entries.length === 0 || bad.length > 0) {
    return {
      problem: `must be true, false, or proxy addresses/CIDRs; not ${JSON.stringify(bad[0] ?? raw)}`,
    };
  }
  return { value: Object.freeze(entries) };
}
