import { Decimal } from 'decimal.js';
import type { RateQuote } from '../channel.js';

// KAURI'S OWN ADAPTOR INTERFACE, not PayEase's: PayEase publishes no exchange-rate service
// (README.md, "What PayEase does not publish"). The bank channel prices in CNY from a source
// a deployer chooses, reached as `GET <rateUrl>?currency=NZD` answering
// `{"currency":"NZD","cny_per_unit":"4.2350","published_at":"<ISO 8601>"}`. A deployer whose
// source speaks otherwise replaces this one module.

/** Reads the bank rate source; throws on anything but a well-formed answer. */
export async function fetchBankRates(
  rateUrl: string,
  currencies: readonly string[],
  timeoutMs = 10_000,
): Promise<RateQuote[]> {
  const out: RateQuote[] = [];
  for (const currency of currencies) {
    const url = new URL(rateUrl);
    url.searchParams.set('currency', currency);
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) throw new Error(`bank rate source answered HTTP ${res.status} for ${currency}`);
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      throw new Error(`bank rate source sent something that is not JSON for ${currency}`);
    }
    const b = body as Record<string, unknown>;
    const published = typeof b.published_at === 'string' ? new Date(b.published_at) : new Date(NaN);
    if (
      b.currency !== currency ||
      typeof b.cny_per_unit !== 'string' ||
      !/^\d{1,6}(\.\d{1,10})?$/.test(b.cny_per_unit) ||
      new Decimal(b.cny_per_unit).lte(0) ||
      Number.isNaN(published.getTime())
    ) {
      throw new Error(`bank rate source sent a malformed rate for ${currency}`);
    }
    out.push({ currency, cnyPerUnit: new Decimal(b.cny_per_unit).toString(), publishedAt: published, source: 'bank' });
  }
  return out;
}
