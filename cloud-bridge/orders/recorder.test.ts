import { describe, it, expect } from 'vitest';
import { redact } from './recorder.js';

describe('channel message redaction', () => {
  it('masks payment codes and tokens in XML, forms and JSON, keeping the rest', () => {
    expect(redact('<xml><auth_code><![CDATA[134567890123456789]]></auth_code><total_fee>100</total_fee></xml>')).toBe(
      '<xml><auth_code>13**************89</auth_code><total_fee>100</total_fee></xml>',
    );
    expect(redact('service=x&dynamic_id=281234567890123456&total_fee=1.00')).toBe(
      'service=x&dynamic_id=28**************56&total_fee=1.00',
    );
    expect(redact('{"access_token":"abcdefgh","openid":"o1"}')).toBe('{"access_token":"ab****gh","openid":"o1"}');
  });
});
