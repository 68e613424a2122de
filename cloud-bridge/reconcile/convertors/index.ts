import type { Channel } from '../codes.js';
import type { StatementFormat } from './format.js';
import { alipayFormat } from './alipay.js';
import { bankFormat } from './bank.js';
import { wechatFormat } from './wechat.js';

export const statementFormats: Record<Channel, StatementFormat<any>> = {
  wechat: wechatFormat,
  alipay: alipayFormat,
  bank: bankFormat,
};
