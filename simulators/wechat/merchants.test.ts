import { describe, it, expect } from 'vitest';
import { MerchantSpecError, parseMerchantSpec } from './merchants.js';

describe('--merchant', () => {
  it('parses key=value pairs with defaults for appsecret and currency', () => {
    expect(
      parseMerchantSpec('mch_id=1900000109,appid=wx8888888888888888,key=abcdefghijklmnopqrstuvwxyz012345'),
    ).toEqual({
      mch_id: '1900000109',
      appid: 'wx8888888888888888',
      key: 'abcdefghijklmnopqrstuvwxyz012345',
      appsecret: 'kauri-demo-appsecret',
      currency: 'NZD',
      h5_domains: ['127.0.0.1', 'localhost'],
    });
    expect(
      parseMerchantSpec(
        'mch_id=3,appid=wx3,key=abcdefghijklmnopqrstuvwxyz012345,h5_domains=Pay.Shop.example|shop.example',
      ).h5_domains,
    ).toEqual(['pay.shop.example', 'shop.example']);
    expect(
      parseMerchantSpec('mch_id=2,appid=wx2,key=abcdefghijklmnopqrstuvwxyz012345,currency=aud,appsecret=s').currency,
    ).toBe('AUD');
  });

  it('says what is wrong', () => {
    expect(() => parseMerchantSpec('1900000109')).toThrow(MerchantSpecError);
    expect(() => parseMerchantSpec('mch_id=x,appid=wx1,key=abcdefghijklmnopqrstuvwxyz012345')).toThrow(/mch_id/);
    expect(() => parseMerchantSpec('mch_id=1,appid=wx1,key=short')).toThrow(/key/);
    expect(() => parseMerchantSpec('mch_id=1,appid=wx1,key=abcdefghijklmnopqrstuvwxyz012345,colour=red')).toThrow(
      /colour/,
    );
  });
});
