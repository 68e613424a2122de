import { isSignType, verify } from './sign.js';

// The JSAPI pay parameters a merchant page hands to getBrandWCPayRequest: signed with
// the v2 algorithm over exactly appId, timeStamp, nonceStr, package, signType
// (docs/protocols/wechat.md). Returns why they are wrong, or undefined when right.
export function verifyJsapiParams(p: Record<string, unknown>, key: string): string | undefined {
  for (const k of ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) {
    if (typeof p[k] !== 'string' || p[k] === '') return `${k} is missing or not a string`;
  }
  const signType = p.signType as string;
  if (!isSignType(signType)) return 'signType must be MD5 or HMAC-SHA256';
  const fields = {
    appId: p.appId as string,
    timeStamp: p.timeStamp as string,
    nonceStr: p.nonceStr as string,
    package: p.package as string,
    signType,
    sign: p.paySign as string,
  };
  return verify(fields, key, signType) ? undefined : 'paySign does not match';
}
