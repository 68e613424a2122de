import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { KauriError } from '../../protocol/errors.js';

// Where a webhook may go. A merchant picks the URL, and the bridge sits inside our network,
// so a URL naming (or resolving to) a loopback, private, link-local, multicast or cloud
// metadata address would let a merchant make the bridge call our own services or scan ports.
// The name is resolved at delivery time, every address is checked, and the request is made
// to the checked address (the name is not looked up again between the check and the
// connect, so DNS rebinding cannot slip in another answer). Merchants whose receivers really
// are on a private network (a shop's own server on its LAN, the demo) are allowed explicitly:
// `kauri admin merchant update --merchant ID --allow-private-webhooks`.

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Host name → every address it resolves to. Injected in tests, so none sends traffic anywhere but loopback. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * Whether an address is an ordinary public unicast one. ipaddr.js names every special range
 * (RFC 6890 and successors); IPv4-mapped and -compatible IPv6 are judged as the IPv4 they carry.
 * Anything with a name other than "unicast" is refused (and IPv4-compatible ::/96): loopback, private (RFC 1918), unique
 * local, link-local (169.254.169.254, the cloud metadata service), carrier-grade NAT
 * (100.100.100.200, Alibaba Cloud's metadata), multicast, broadcast, unspecified, reserved,
 * NAT64/6to4/Teredo (which embed an IPv4 address that could be any of these).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const ip = ipaddr.process(address);
  // ipaddr.js reads only the text form "::a.b.c.d" as the IPv4 it carries: the same address
  // written in hex (::7f00:1, which is how a URL normalises [::127.0.0.1]) comes back as
  // "unicast". The whole IPv4-compatible block ::/96 is deprecated (RFC 4291 §2.5.5.1) and
  // has no public use, so it is refused whatever IPv4 address it carries.
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return false;
  return ip.range() === 'unicast';
}

export const REFUSED_ADVICE =
  'use a public https URL, or ask the operator to allow private webhooks for this merchant (kauri admin merchant update --allow-private-webhooks)';

function refused(why: string): KauriError {
  return new KauriError('webhook_url_refused', `${why}: ${REFUSED_ADVICE}`);
}

/** What can be checked without DNS, when the URL is set: the scheme and a literal address. */
export function assertWebhookUrlShape(url: URL, allowPrivate: boolean): void {
  if (allowPrivate) return;
  if (url.protocol !== 'https:') throw refused('webhook URLs must be https');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !isPublicAddress(host)) throw refused(`${host} is a private, loopback or link-local address`);
  if (host === 'localhost' || host.endsWith('.localhost')) throw refused(`${host} is this machine`);
}

/**
 * Resolves the URL's host and answers the one address to connect to, or throws
 * webhook_url_refused. A name with any refused address is refused whole: otherwise which
 * answer we picked would decide.
 */
export async function checkDestination(url: URL, allowPrivate: boolean, resolve: Resolver): Promise<ResolvedAddress> {
  assertWebhookUrlShape(url, allowPrivate);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new KauriError('webhook_url_refused', `the host name ${host} was not found`);
    }
    if (!addresses.length) throw new KauriError('webhook_url_refused', `the host name ${host} was not found`);
  }
  if (!allowPrivate && addresses.some((a) => !isPublicAddress(a.address))) {
    throw refused(`${host} resolves to a private, loopback or link-local address`);
  }
  return addresses[0]!;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | Array<{ address: string; family: number }>,
  family?: number,
) => void;

/**
 * An undici dispatcher whose every connection goes to `pinned`, whatever the name: TLS still
 * checks the certificate against the URL's host name (SNI comes from the URL, not the address).
 */
export function pinnedAgent(pinned: ResolvedAddress, timeoutMs: number): Agent {
  return new Agent({
    connections: 1,
    connectTimeout: timeoutMs,
    connect: {
      // net.connect asks with { all: true } when it may try several families (autoSelectFamily).
      lookup: (_hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
        if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
        else callback(null, pinned.address, pinned.family);
      },
    } as Agent.Options['connect'],
  });
}

/** A short cause for the merchant's delivery log; the raw error stays in our own log. */
export function shortCause(err: unknown): string {
  if (err instanceof KauriError) return `${err.code}: ${err.message}`;
  const e = err as { code?: string; name?: string; cause?: { code?: string; name?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const name = e.name ?? e.cause?.name ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return 'the connection was closed before an answer';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timed out connecting';
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  )
    return 'no answer in time (10 s)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code)) return 'the TLS certificate was not accepted';
  return 'could not connect';
}
