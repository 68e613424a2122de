import { createContext, useContext, useState, type ReactNode } from 'react';
import { formatTime } from './time.js';

// English and 中文 for every word the console shows. The choice is remembered in this
// browser; the server's own messages stay in English and are shown beside a translated title.

export type Lang = 'en' | 'zh';

const EN = {
  appName: 'Kauri back office',
  login: 'Log in',
  username: 'User name',
  password: 'Password',
  totp: 'Authenticator code',
  totpHint: 'Enter the 6-digit code from your authenticator app.',
  logout: 'Log out',
  language: '中文',
  navPayments: 'Payments',
  navReports: 'Reports',
  navAudit: 'Audit log',
  navUsers: 'Users',
  navDevelopers: 'Developers',
  navReconciliation: 'Reconciliation',
  navSettlement: 'Settlement',
  navPayouts: 'Payouts',
  navCounters: 'Counters',
  navAccount: 'My account',
  search: 'Search',
  searchHint: 'Order number, Kauri id, channel transaction or checkout reference — Enter searches',
  from: 'From',
  to: 'To',
  store: 'Store',
  counter: 'Counter',
  channel: 'Channel',
  mode: 'Mode',
  status: 'Status',
  min: 'Min NZD',
  max: 'Max NZD',
  flagged: 'Flagged only',
  merchant: 'Merchant',
  any: 'Any',
  apply: 'Apply',
  clear: 'Clear',
  more: 'More',
  loading: 'Loading…',
  nothing: 'Nothing found.',
  totals: 'Totals',
  count: 'Count',
  amount: 'Amount',
  charged: 'Charged',
  refunded: 'Refunded',
  created: 'Created',
  paidAt: 'Paid',
  orderNo: 'Order number',
  exportPayments: 'Export payments CSV',
  exportRefunds: 'Refunds CSV',
  exportXero: 'Xero bank statement CSV',
  back: '← Back',
  payment: 'Payment',
  rate: 'Rate',
  rateAt: 'Rate time',
  source: 'Made by',
  sourceCounter: 'counter',
  sourceApi: 'merchant API',
  sourceOnecode: 'store QR code',
  kauriId: 'Kauri id',
  history: 'History',
  state: 'State',
  at: 'At',
  reason: 'Reason',
  refunds: 'Refunds',
  deliveries: 'Webhook deliveries',
  event: 'Event',
  attempts: 'Attempts',
  lastError: 'Last error',
  resend: 'Resend',
  resent: 'Queued again.',
  messages: 'Channel messages (HQ only, secrets redacted)',
  refund: 'Refund',
  refundAmount: 'Refund amount (NZD)',
  refundReason: 'Reason',
  refundConfirm: 'Send refund',
  refundRemaining: 'Refundable',
  refundAfter: 'Left after this refund',
  refundDone: 'Refund sent',
  refundBadAmount: 'Enter an amount greater than 0 and at most the refundable amount.',
  refundNeedReason: 'A reason is required.',
  cancel: 'Cancel',
  closePayment: 'Close payment',
  closeConfirm: 'Close this open payment? The customer can no longer pay it.',
  closed: 'The payment is closed.',
  period: 'Period',
  day: 'Day',
  month: 'Month',
  gross: 'Gross',
  net: 'Net',
  show: 'Show',
  actor: 'Who',
  role: 'Role',
  action: 'Action',
  target: 'Target',
  ip: 'From',
  details: 'Details',
  users: 'Users',
  disable: 'Disable',
  disabled: 'disabled',
  invite: 'Invite a user',
  inviteLink: 'Invite link (shown once, valid 72 hours): send it to the person yourself.',
  inviteSend: 'Create invite link',
  storeIds: 'Store ids',
  refundLimit: 'Refund limit NZD',
  expires: 'Expires',
  sessions: 'Sessions',
  browser: 'Browser',
  totpFirst: 'Your role signs in with two-factor codes: set up your authenticator app to continue.',
  end: 'End',
  thisSession: 'this session',
  twoFactor: 'Two-factor sign-in (TOTP)',
  totpOn: 'On',
  totpOff: 'Off',
  totpStart: 'Set up',
  totpScan: 'Scan this code with your authenticator app, then enter the code it shows.',
  totpEnable: 'Turn on',
  totpDisable: 'Turn off',
  apiKeys: 'API keys',
  apiKeyLabel: 'Label',
  apiKeyCreate: 'Create API key',
  apiKeySecret: 'The new key, shown only now: copy it into the merchant’s system.',
  revoke: 'Revoke',
  revoked: 'revoked',
  lastUsed: 'Last used',
  never: 'never',
  webhook: 'Webhook endpoint',
  webhookUrl: 'URL',
  save: 'Save',
  rotateSecret: 'Rotate signing secret',
  webhookSecret: 'Signing secret, shown only now:',
  merchantId: 'Merchant id',
  reconciliationHint: 'Days, files, settlement, payouts, counters and terminal pairing.',
  openWorkspace: 'Open in its own tab',
  notAvailable: 'This part of the server is not available yet',
  yes: 'yes',
  no: 'no',
  id: 'Id',
  label: 'Label',
  chart: 'Net per period',
};

export type Key = keyof typeof EN;

const ZH: Record<Key, string> = {
  appName: 'Kauri 后台',
  login: '登录',
  username: '用户名',
  password: '密码',
  totp: '验证码',
  totpHint: '请输入身份验证器应用中的 6 位验证码。',
  logout: '退出',
  language: 'English',
  navPayments: '支付',
  navReports: '报表',
  navAudit: '审计日志',
  navUsers: '用户',
  navDevelopers: '开发者',
  navReconciliation: '对账',
  navSettlement: '结算',
  navPayouts: '付款',
  navCounters: '收银终端',
  navAccount: '我的账户',
  search: '搜索',
  searchHint: '商户订单号、Kauri 编号、渠道交易号或收款码编号 — 回车搜索',
  from: '从',
  to: '到',
  store: '门店',
  counter: '收银台',
  channel: '渠道',
  mode: '方式',
  status: '状态',
  min: '最低 NZD',
  max: '最高 NZD',
  flagged: '仅标记的',
  merchant: '商户',
  any: '全部',
  apply: '应用',
  clear: '清除',
  more: '更多',
  loading: '加载中…',
  nothing: '没有结果。',
  totals: '合计',
  count: '笔数',
  amount: '金额',
  charged: '实收',
  refunded: '已退款',
  created: '创建',
  paidAt: '支付时间',
  orderNo: '订单号',
  exportPayments: '导出支付 CSV',
  exportRefunds: '退款 CSV',
  exportXero: 'Xero 银行对账单 CSV',
  back: '← 返回',
  payment: '支付',
  rate: '汇率',
  rateAt: '汇率时间',
  source: '来源',
  sourceCounter: '收银台',
  sourceApi: '商户接口',
  sourceOnecode: '门店收款码',
  kauriId: 'Kauri 编号',
  history: '状态记录',
  state: '状态',
  at: '时间',
  reason: '原因',
  refunds: '退款',
  deliveries: 'Webhook 推送',
  event: '事件',
  attempts: '次数',
  lastError: '最近错误',
  resend: '重新推送',
  resent: '已重新排队。',
  messages: '渠道报文（仅总部，已隐去密钥）',
  refund: '退款',
  refundAmount: '退款金额（NZD）',
  refundReason: '原因',
  refundConfirm: '确认退款',
  refundRemaining: '可退金额',
  refundAfter: '退款后剩余',
  refundDone: '退款已提交',
  refundBadAmount: '请输入大于 0 且不超过可退金额的数额。',
  refundNeedReason: '请填写原因。',
  cancel: '取消',
  closePayment: '关闭支付',
  closeConfirm: '关闭这笔未完成的支付？顾客将无法再支付。',
  closed: '支付已关闭。',
  period: '周期',
  day: '日',
  month: '月',
  gross: '总额',
  net: '净额',
  show: '显示',
  actor: '操作人',
  role: '角色',
  action: '操作',
  target: '对象',
  ip: '来源地址',
  details: '详情',
  users: '用户',
  disable: '停用',
  disabled: '已停用',
  invite: '邀请用户',
  inviteLink: '邀请链接（仅显示一次，72 小时内有效）：请自行发送给对方。',
  inviteSend: '生成邀请链接',
  storeIds: '门店编号',
  refundLimit: '退款上限 NZD',
  expires: '到期',
  sessions: '登录会话',
  browser: '浏览器',
  totpFirst: '您的角色须使用双重验证登录：请先设置身份验证器应用。',
  end: '结束',
  thisSession: '当前会话',
  twoFactor: '两步验证（TOTP）',
  totpOn: '已开启',
  totpOff: '未开启',
  totpStart: '设置',
  totpScan: '用身份验证器应用扫描此码，然后输入显示的验证码。',
  totpEnable: '开启',
  totpDisable: '关闭',
  apiKeys: 'API 密钥',
  apiKeyLabel: '名称',
  apiKeyCreate: '创建 API 密钥',
  apiKeySecret: '新密钥仅显示这一次：请复制到商户系统中。',
  revoke: '吊销',
  revoked: '已吊销',
  lastUsed: '最近使用',
  never: '从未',
  webhook: 'Webhook 地址',
  webhookUrl: '网址',
  save: '保存',
  rotateSecret: '更换签名密钥',
  webhookSecret: '签名密钥，仅显示这一次：',
  merchantId: '商户编号',
  reconciliationHint: '对账日、文件、结算、付款、收银终端和终端配对。',
  openWorkspace: '在新标签页打开',
  notAvailable: '服务器的这一部分尚未开放',
  yes: '是',
  no: '否',
  id: '编号',
  label: '名称',
  chart: '各周期净额',
};

const STATUS: Record<string, [string, string]> = {
  created: ['created', '已创建'],
  pending: ['pending', '待支付'],
  paid: ['paid', '已支付'],
  partially_refunded: ['partially refunded', '部分退款'],
  refunded: ['refunded', '已退款'],
  closed: ['closed', '已关闭'],
  reversed: ['reversed', '已撤销'],
  failed: ['failed', '失败'],
  processing: ['processing', '处理中'],
  succeeded: ['succeeded', '成功'],
};

const CHANNEL: Record<string, [string, string]> = {
  wechat: ['WeChat Pay', '微信支付'],
  alipay: ['Alipay', '支付宝'],
  bank: ['Online banking', '网银'],
};

const ROLE: Record<string, [string, string]> = {
  hq_admin: ['HQ admin', '总部管理员'],
  hq_finance: ['HQ finance', '总部财务'],
  merchant_admin: ['Merchant admin', '商户管理员'],
  store_manager: ['Store manager', '店长'],
  viewer: ['Viewer', '只读'],
};

// The titles of the errors a person meets here; the server's English message follows.
const ERROR: Record<string, [string, string]> = {
  unauthorized: ['Not logged in', '未登录'],
  forbidden: ['Not allowed', '无权操作'],
  not_found: ['Not found', '未找到'],
  refund_limit_exceeded: ['Above your refund limit', '超出您的退款上限'],
  too_many_logins: ['Too many attempts', '尝试次数过多'],
  bad_argument: ['Check the input', '请检查输入'],
  invalid_request: ['Check the input', '请检查输入'],
  network: ['The bridge cannot be reached', '无法连接服务器'],
  totp_required: ['Code needed', '需要验证码'],
  totp_invalid: ['Wrong code', '验证码错误'],
};

const LANG_KEY = 'kauri.hq.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch {
    // storage refused (private mode): fall through to the browser's language
  }
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: Key): string;
  status(s: string): string;
  channel(c: string): string;
  role(r: string): string;
  errorTitle(code: string): string;
  /** In `timeZone` (a store's, with its abbreviation) when given; else the browser's zone. */
  dateTime(iso: string | null | undefined, timeZone?: string | null): string;
  /** Compact, for lists: day and minute. */
  shortDateTime(iso: string | null | undefined, timeZone?: string | null): string;
}

const Ctx = createContext<I18n | null>(null);

export function LangProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  const pick = (table: Record<string, [string, string]>, k: string) => table[k]?.[lang === 'en' ? 0 : 1] ?? k;
  const value: I18n = {
    lang,
    setLang(next) {
      setLangState(next);
      try {
        localStorage.setItem(LANG_KEY, next);
      } catch {
        // not remembered, still switched
      }
    },
    t: (key) => (lang === 'zh' ? ZH[key] : EN[key]),
    status: (s) => pick(STATUS, s),
    channel: (c) => pick(CHANNEL, c),
    role: (r) => pick(ROLE, r),
    errorTitle: (code) => pick(ERROR, code),
    dateTime(iso, timeZone) {
      if (timeZone) return formatTime(iso, lang === 'zh' ? 'zh-CN' : 'en-NZ', 'long', timeZone);
      if (!iso) return '';
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return iso;
      return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-NZ', { dateStyle: 'medium', timeStyle: 'medium' });
    },
    shortDateTime(iso, timeZone) {
      if (timeZone) return formatTime(iso, lang === 'zh' ? 'zh-CN' : 'en-NZ', 'short', timeZone);
      if (!iso) return '';
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return iso;
      return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-NZ', {
        day: 'numeric',
        month: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hour12: false,
      });
    },
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside LangProvider');
  return v;
}
