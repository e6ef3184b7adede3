// How the expectations page writes tuples: a part whose mask is zero matches anything and shows as "*".
import type { ApiEndpoint } from '@/lib/console/connection';
import { bracketed as host } from '@/app/components/format';

const ZERO_ADDRESSES = new Set(['0.0.0.0', '::']);

function side(address: string, port: number | undefined, maskAddress: string, maskPort: number | undefined): string {
  const a = ZERO_ADDRESSES.has(maskAddress) ? '*' : host(address);
  if (port === undefined) return a;
  return `${a}:${maskPort === 0 ? '*' : port}`;
}

/** "src:sport → dst:dport" of the expected tuple, wildcards as "*". */
export function expectedText(expected: ApiEndpoint, mask: ApiEndpoint): string {
  return `${side(expected.src, expected.sport, mask.src, mask.sport)} → ${side(expected.dst, expected.dport, mask.dst, mask.dport)}`;
}

/** The mask as written by conntrack -L expect: addresses and ports. */
export function maskText(mask: ApiEndpoint): string {
  const port = (p: number | undefined) => (p === undefined ? '' : `:0x${p.toString(16)}`);
  return `${host(mask.src)}${port(mask.sport)} → ${host(mask.dst)}${port(mask.dport)}`;
}

export function endpointText(e: ApiEndpoint): string {
  const port = (address: string, p: number | undefined) => (p === undefined ? host(address) : `${host(address)}:${p}`);
  return `${port(e.src, e.sport)} → ${port(e.dst, e.dport)}`;
}

