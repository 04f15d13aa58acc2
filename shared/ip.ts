/**
 * IP addresses and networks, shared by the nodes (ACL rules, banned peer hosts) and the
 * gateway (banned entries are stored in canonical form).
 */

/** An IP network; `bytes` is 4 long for IPv4 (IPv4-mapped IPv6 included), 16 for IPv6. */
export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
  /** The text the rule had, for messages and docs. */
  text: string;
}

// ---------------------------------------------------------------------------------------
// IP addresses. Hand-rolled rather than net.BlockList so that matching is synchronous,
// allocation-free per check and treats IPv4-mapped IPv6 exactly as IPv4.

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  // A trailing dotted quad stands for the last two groups (::ffff:1.2.3.4).
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...rest];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored). IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`, as dual-stack sockets report IPv4 peers) comes back as the 4-byte
 * IPv4 address, so rules and bans written for IPv4 apply to it.
 */
export function parseIp(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return parseIpv4(s);
  const b = parseIpv6(s);
  return b && isV4Mapped(b) ? b.slice(12) : b;
}

/** Canonical text of an address (dotted IPv4, RFC 5952 IPv6), or undefined if not an IP. */
export function canonicalIp(s: string): string | undefined {
  const b = parseIp(s);
  if (!b) return undefined;
  if (b.length === 4) return b.join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (leftmost on ties) of two or more zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * Parses "IP" or "IP/prefix". Host bits beyond the prefix are cleared rather than rejected,
 * as EMQX's esockd_cidr:parse(CIDR, true) does, so "10.1.2.3/8" means 10.0.0.0/8.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = parseIp(addr);
  if (!bytes) return undefined;
  let prefix = bytes.length * 8;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    // An IPv4-mapped network written in IPv6 form has a prefix counted over 128 bits.
    if (bytes.length === 4 && addr.includes(':')) {
      if (prefix < 96) return undefined;
      prefix -= 96;
    }
    if (prefix > bytes.length * 8) return undefined;
  }
  const masked = bytes.slice();
  for (let bit = prefix; bit < masked.length * 8; bit++) masked[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { bytes: masked, prefix, text };
}

/** Whether an address parsed by parseIp lies in the network. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (ip[i] !== cidr.bytes[i]) return false;
  const rem = cidr.prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (ip[full]! & mask) === cidr.bytes[full];
}

