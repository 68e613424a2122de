import { redact } from '../orders/recorder.js';

// What HQ reads of the raw channel messages. The recorder already masked the bearer secrets
// (payment codes, tokens, keys) when it stored them; a message shown on a screen also loses
// its signatures (a valid signature over known fields helps whoever forges the next one) and
// any card or bank account number a channel echoed back. Applied when shown, so messages
// stored before this list grew are covered too.

const SHOWN_SECRET_FIELDS = [
  'sign',
  'sign_type_value',
  'paySign',
  'signature',
  'v_sign',
  'v_md5info',
  'v_md5money',
  'v_md5str',
  'v_mac',
  'mac',
  'card_no',
  'cardno',
  'card_number',
  'bank_card',
  'bank_card_no',
  'v_cardno',
  'acct_no',
  'account_no',
  'bank_account',
  'bank_account_no',
  'buyer_logon_id',
  'private_key',
  'api_key',
  'mch_key',
];

const PATTERNS = SHOWN_SECRET_FIELDS.map((f) => ({
  f,
  xml: new RegExp(`<${f}>(?:<!\\[CDATA\\[)?([^<\\]]*)(?:\\]\\]>)?</${f}>`, 'g'),
  form: new RegExp(`(^|[&?])${f}=([^&]*)`, 'g'),
  json: new RegExp(`"${f}"\\s*:\\s*"([^"]*)"`, 'g'),
}));

/** A long run of digits that passes the Luhn check is a card number whatever its field is called. */
const PAN = /(?<!\d)\d{13,19}(?!\d)/g;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const HIDDEN = '[redacted]';

export function redactForDisplay(body: string): string {
  let out = redact(body);
  for (const { f, xml, form, json } of PATTERNS) {
    out = out.replace(xml, () => `<${f}>${HIDDEN}</${f}>`);
    out = out.replace(form, (_m, p: string) => `${p}${f}=${HIDDEN}`);
    out = out.replace(json, () => `"${f}":"${HIDDEN}"`);
  }
  // Only 15-19 digit Luhn numbers beginning like a card (3-6): channel trade numbers are
  // longer (28 digits) or dated, and would rarely pass all three tests.
  return out.replace(PAN, (m) =>
    m.length >= 15 && /^[3-6]/.test(m) && luhn(m) ? `${m.slice(0, 4)}…${m.slice(-4)}` : m,
  );
}
