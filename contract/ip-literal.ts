/**
 * IP literal syntax, without node:net: the contract is loaded at synth time and must not pull in
 * networking. Accepts what Node's `net.isIP` accepts (dotted-quad IPv4 without leading zeros,
 * RFC 4291 IPv6 text with an optional embedded IPv4 tail and zone id).
 */

const IPV4_PART = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_PART.test(p));
}

export function isIPv6(s: string): boolean {
  const zone = s.indexOf('%');
  if (zone === 0) return false;
  if (zone > 0) {
    // Zone ids are interface names or numbers: anything printable but '%' and whitespace.
    if (!/^[^\s%]+$/.test(s.slice(zone + 1))) return false;
    s = s.slice(0, zone);
  }
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | undefined => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return false;
  const all = [...head, ...tail];
  let width = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i]!;
    if (i === all.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      width += 2;
    } else if (HEXTET.test(g)) width += 1;
    else return false;
  }
  return halves.length === 2 ? width <= 7 : width === 8;
}

/** 4, 6 or 0 (not an IP literal), like `net.isIP`. */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (isIPv4(s)) return 4;
  if (isIPv6(s)) return 6;
  return 0;
}
