import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

// Response headers for every page the bridge serves to a browser (the one-code pages /c and
// /s, the bank payment and return pages, and anything else answering HTML). A payment page in
// someone else's frame can be dressed up to trick the customer (clickjacking), so no page may be
// framed; scripts and styles run only from our own origin or, inline, when their exact text
// is one the bridge wrote through inlineScript / inlineStyle / inlineHandler below. The policy
// is made from the page as sent, but a block counts only if its hash was authored: text that
// found its way into the page some other way (an escaping mistake) gets no hash and does not run.
// References: CSP Level 3 (https://www.w3.org/TR/CSP3/), MDN "Content-Security-Policy",
// OWASP "Clickjacking Defense Cheat Sheet".

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * Hashes of the inline code the bridge has written, most recent last. A page is rendered and
 * sent within one request, so the hashes of the last few thousand renders are all a policy
 * needs; the oldest are forgotten so pages carrying data (one hash per page) cannot grow it.
 */
const authored = new Set<string>();
const AUTHORED_KEPT = 10_000;

function author(code: string): string {
  const h = sha256(code);
  authored.delete(h);
  authored.add(h);
  if (authored.size > AUTHORED_KEPT) authored.delete(authored.values().next().value!);
  return code;
}

/** An inline <script> element whose text the page's policy allows (the caller has made `code` safe inside <script>). */
export function inlineScript(code: string): string {
  return `<script>${author(code)}</script>`;
}

/** An inline <style> element whose text the page's policy allows. */
export function inlineStyle(css: string): string {
  return `<style>${author(css)}</style>`;
}

/** The code of an event-handler attribute the page's policy allows (the caller writes it, escaped, into the attribute). */
export function inlineHandler(code: string): string {
  return author(code);
}

/** Inline <script> and <style> bodies, and inline event-handler attributes (Alipay's auto-submit form uses onload). */
function inlineParts(html: string): { scripts: string[]; styles: string[]; handlers: string[] } {
  const scripts = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]!);
  const styles = [...html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]!);
  const handlers = [...html.matchAll(/<[a-z][^>]*?\son[a-z]+\s*=\s*("([^"]*)"|'([^']*)')/gi)].map((m) =>
    decodeEntities(m[2] ?? m[3] ?? ''),
  );
  return { scripts, styles, handlers };
}

/** The hashes of those blocks that the bridge wrote. */
function allowed(blocks: string[]): string[] {
  return [...new Set(blocks.map(sha256))].filter((h) => authored.has(h));
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * The Content-Security-Policy for one HTML page: its inline blocks that the bridge authored. `form-action` is left out on purpose: the
 * payment forms post to the channels' gateways, and a form's redirect chain (our /s → /c →
 * WeChat's OAuth) is checked against form-action too, which would stop a real payment.
 */
export function pageCsp(html: string): string {
  const { scripts, styles, handlers } = inlineParts(html);
  const scriptSrc = ["'self'", ...allowed(scripts)];
  // Event-handler attributes can only be allowed by hash with 'unsafe-hashes' (CSP3 §6.7.3.3).
  const handlerHashes = allowed(handlers);
  if (handlerHashes.length) scriptSrc.push("'unsafe-hashes'", ...handlerHashes);
  const styleSrc = ["'self'", ...allowed(styles)];
  return [
    "default-src 'none'",
    `script-src ${scriptSrc.join(' ')}`,
    `style-src ${styleSrc.join(' ')}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** What every response carries; HTML also gets its CSP (unless its route set a stricter one, as /hq does). */
export function installPageSecurity(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('text/html')) return payload;
    if (!reply.hasHeader('referrer-policy')) void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY'); // for browsers without frame-ancestors
    if (!reply.hasHeader('content-security-policy')) {
      const html = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
      void reply.header('content-security-policy', pageCsp(html));
    }
    return payload;
  });
}
