// One catalogue of every error Kauri reports across a boundary (HTTP, the terminal
// link, the cashier's screen, the CLI): its code, the HTTP status it answers with, and
// what a person reads in English and Chinese. Callers branch on `code`, never on message
// text. Every error class in the code base is a KauriError (or a thin subclass that adds
// where the problem was), so one boundary (cloud-bridge/server/errors.ts) can answer them all.

interface ErrorSpec {
  readonly status: number;
  readonly en: string;
  readonly zh: string;
}

export const ERRORS = {
  // Requests
  invalid_request: { status: 400, en: 'The request is not valid', zh: '请求无效' },
  invalid_json: { status: 400, en: 'The request body is not valid JSON', zh: '请求内容不是有效的 JSON' },
  payload_too_large: { status: 413, en: 'The request body is too large', zh: '请求内容过大' },
  unsupported_media_type: { status: 415, en: 'Unsupported content type', zh: '不支持的内容类型' },
  not_found: { status: 404, en: 'Not found', zh: '未找到' },
  rate_limited: { status: 429, en: 'Too many requests; slow down', zh: '请求过于频繁，请稍后再试' },
  export_busy: {
    status: 503,
    en: 'Other exports are running; try again in a minute',
    zh: '其他导出正在进行，请一分钟后再试',
  },
  bad_argument: { status: 400, en: 'An argument is missing or not valid', zh: '参数缺失或无效' },
  conflict: { status: 409, en: 'That conflicts with the current state', zh: '与当前状态冲突' },
  // Authentication and authorisation
  unauthenticated: { status: 401, en: 'Missing or invalid credentials', zh: '缺少或无效的凭证' },
  unauthorized: {
    status: 401,
    en: 'Sign in first, or the user name or password is wrong',
    zh: '请先登录，或用户名、密码错误',
  },
  too_many_logins: {
    status: 429,
    en: 'Too many failed logins for this user from this address; wait and try again',
    zh: '该用户从此地址登录失败次数过多，请稍候再试',
  },
  forbidden: { status: 403, en: 'Not allowed', zh: '无权操作' },
  totp_required: {
    status: 401,
    en: 'Enter the code from your authenticator app',
    zh: '请输入身份验证器应用中的验证码',
  },
  totp_invalid: {
    status: 401,
    en: 'The authenticator code is wrong or was already used',
    zh: '验证码错误或已被使用',
  },
  totp_setup_required: {
    status: 403,
    en: 'Your role must sign in with two-factor codes: set up your authenticator app first',
    zh: '您的角色须使用双重验证登录：请先设置身份验证器应用',
  },
  invite_expired: {
    status: 410,
    en: 'This invitation is unknown, already used or expired; ask for a new one',
    zh: '该邀请无效、已使用或已过期，请重新申请邀请',
  },
  refund_limit_exceeded: {
    status: 403,
    en: 'The refund is more than your refund limit',
    zh: '退款金额超过您的退款权限上限',
  },
  terminal_revoked: { status: 403, en: 'This terminal has been revoked', zh: '此终端已被停用' },
  pairing_code_invalid: {
    status: 400,
    en: 'The pairing code is unknown, used or expired',
    zh: '配对码无效、已使用或已过期',
  },
  manager_pin_invalid: { status: 403, en: 'The manager PIN is not correct', zh: '店长密码不正确' },
  manager_pin_locked: { status: 429, en: 'Too many wrong PINs; wait a minute', zh: '密码错误次数过多，请稍候再试' },
  manager_pin_weak: {
    status: 400,
    en: 'A manager PIN must be 6–12 digits and not easy to guess (not 111111, 123456 or 121212)',
    zh: '店长密码须为 6–12 位数字且不易猜测（不可为 111111、123456、121212 等）',
  },
  terminal_offline: {
    status: 503,
    en: 'Offline: no new payment can start until the bridge is reachable',
    zh: '离线：连接恢复前无法发起新的支付',
  },
  scan_duplicate: { status: 409, en: 'That code was just scanned; ignored', zh: '该付款码刚刚已扫描，已忽略' },
  payment_in_progress: { status: 409, en: 'A payment is already in progress', zh: '已有一笔支付正在进行' },
  day_close_refused: {
    status: 409,
    en: "The day cannot be closed while a payment's outcome is unknown or a payment is in progress",
    zh: '仍有结果未知或进行中的支付，暂不能日结',
  },
  day_already_closed: { status: 409, en: 'This store day is already closed', zh: '本营业日已日结' },
  // Payouts to merchants
  bank_account_invalid: {
    status: 400,
    en: 'That is not a valid New Zealand bank account number',
    zh: '这不是有效的新西兰银行账号',
  },
  payout_state: {
    status: 409,
    en: 'The payout run cannot do that in its present state',
    zh: '该付款批次当前状态下无法执行此操作',
  },
  payout_self_approval: {
    status: 403,
    en: 'A payout run is approved by a second HQ user, not the one who built it',
    zh: '付款批次须由另一位总部用户审批，不能由创建者本人审批',
  },
  payout_not_approved: {
    status: 409,
    en: 'The payout run must be approved before its bank file can be downloaded',
    zh: '付款批次须先经审批，才能下载银行文件',
  },
  payout_file_refused: {
    status: 422,
    en: 'The bank file format cannot carry this payout run',
    zh: '该银行文件格式无法承载此付款批次',
  },
  payout_nothing_to_pay: {
    status: 409,
    en: 'There is nothing to pay out: no signed-off settlement day is waiting',
    zh: '没有可付款项：没有待付的已签核结算日',
  },
  day_close_offline: {
    status: 503,
    en: 'Offline: the manager PIN cannot be checked, so the day cannot be closed until the bridge is back',
    zh: '离线：无法验证店长密码，连接恢复后才能日结',
  },
  // Money and orders
  unknown_currency: { status: 400, en: 'Unknown currency', zh: '未知币种' },
  invalid_amount: {
    status: 400,
    en: 'The amount must be a positive whole number of minor units',
    zh: '金额必须为正整数（最小货币单位）',
  },
  currency_mismatch: { status: 400, en: 'The currencies do not match', zh: '币种不一致' },
  amount_overflow: { status: 400, en: 'The amount is too large', zh: '金额过大' },
  amount_too_large: {
    status: 422,
    en: 'The amount is more than this merchant accepts in one payment',
    zh: '金额超过该商户单笔支付上限',
  },
  idempotency_conflict: {
    status: 409,
    en: 'This reference was already used for a different request',
    zh: '该单号已用于不同的请求',
  },
  order_not_found: { status: 404, en: 'No such payment', zh: '未找到该支付' },
  invalid_transition: { status: 409, en: 'The payment cannot change to that state', zh: '该支付无法变更为此状态' },
  order_not_closable: { status: 409, en: 'The payment can no longer be closed', zh: '该支付已无法关闭' },
  order_not_refundable: {
    status: 409,
    en: 'The payment has not been paid, so it cannot be refunded',
    zh: '该支付尚未成功，无法退款',
  },
  refund_exceeds_remainder: {
    status: 409,
    en: 'The refund is more than what remains refundable',
    zh: '退款金额超过可退余额',
  },
  mode_not_supported: {
    status: 400,
    en: 'The channel does not support that payment mode',
    zh: '该支付渠道不支持此支付方式',
  },
  auth_code_invalid: { status: 400, en: 'That payment code is not valid for this channel', zh: '付款码无效' },
  // Channels
  channel_unavailable: { status: 503, en: 'That payment channel is not available', zh: '该支付渠道暂不可用' },
  channel_not_configured: {
    status: 409,
    en: 'The merchant has no account on that payment channel',
    zh: '商户未开通该支付渠道',
  },
  channel_account_disabled: {
    status: 409,
    en: "The merchant's account on that payment channel is turned off",
    zh: '商户在该支付渠道的账户已停用',
  },
  merchant_disabled: {
    status: 403,
    en: 'This merchant is turned off and takes no new payments',
    zh: '该商户已停用，不能发起新的支付',
  },
  channel_timeout: { status: 504, en: 'The payment channel did not answer in time', zh: '支付渠道响应超时' },
  channel_error: { status: 502, en: 'The payment channel reported an error', zh: '支付渠道返回错误' },
  channel_rejected: { status: 402, en: 'The payment channel declined the payment', zh: '支付渠道拒绝了该支付' },
  signature_invalid: { status: 400, en: 'The signature does not verify', zh: '签名验证失败' },
  // Merchant webhooks, as the merchant's copy of webhooks/verify-signature.ts reports them
  missing_header: { status: 400, en: 'The Kauri-Signature header is missing', zh: '缺少 Kauri-Signature 签名头' },
  malformed_header: {
    status: 400,
    en: 'The Kauri-Signature header is malformed',
    zh: 'Kauri-Signature 签名头格式错误',
  },
  timestamp_outside_tolerance: {
    status: 400,
    en: "The signature's timestamp is too far from now",
    zh: '签名时间戳与当前时间相差过大',
  },
  no_matching_signature: { status: 400, en: 'No signature matches the body', zh: '没有与内容相符的签名' },
  body_not_raw: {
    status: 400,
    en: 'The body must be the raw bytes received, not parsed JSON',
    zh: '请传入收到的原始内容，而非解析后的 JSON',
  },
  secret_invalid: { status: 400, en: 'The webhook secret is not valid', zh: '回调密钥无效' },
  body_not_json: { status: 400, en: 'The webhook body is not JSON', zh: '回调内容不是 JSON' },
  // FX
  rate_stale: { status: 503, en: 'The exchange rate is out of date; try again shortly', zh: '汇率已过期，请稍后再试' },
  rate_unavailable: { status: 503, en: 'No exchange rate is available', zh: '暂无汇率' },
  quote_expired: { status: 409, en: 'The quote has expired; get a new one', zh: '报价已过期，请重新获取' },
  // Devices at the counter (the cashier reads these on the screen and the printer's health)
  device_spec_invalid: { status: 400, en: 'Device setting is not valid', zh: '设备设置无效' },
  printer_profile_unknown: { status: 400, en: 'Unknown printer profile', zh: '未知的打印机型号' },
  printer_paper_out: { status: 503, en: 'Printer is out of paper', zh: '打印机缺纸' },
  printer_cover_open: { status: 503, en: 'Printer cover is open', zh: '打印机盖未关' },
  printer_offline: { status: 503, en: 'Printer is offline', zh: '打印机离线' },
  printer_error: { status: 503, en: 'Printer reports an error', zh: '打印机故障' },
  printer_no_answer: { status: 504, en: 'Printer does not answer', zh: '打印机无响应' },
  printer_disconnected: { status: 503, en: 'Printer is disconnected', zh: '打印机未连接' },
  usb_unavailable: { status: 503, en: 'USB printer not found', zh: '未找到USB打印机' },
  display_unavailable: { status: 503, en: 'Customer display is disconnected', zh: '客显未连接' },
  scan_code_invalid: { status: 400, en: 'Not a WeChat or Alipay payment code', zh: '不是有效的微信或支付宝付款码' },
  // Reconciliation: statements, runs and HQ sign-off
  file_unreadable: { status: 422, en: 'The statement file cannot be read', zh: '无法读取对账单文件' },
  wrong_encoding: { status: 422, en: 'The statement file has the wrong text encoding', zh: '对账单文件编码错误' },
  wrong_header: { status: 422, en: "The statement file's header is not the expected one", zh: '对账单表头不符' },
  malformed_row: { status: 422, en: 'A row of the statement file is malformed', zh: '对账单中有格式错误的行' },
  truncated_file: { status: 422, en: 'The statement file is cut short', zh: '对账单文件不完整' },
  summary_mismatch: {
    status: 422,
    en: "The statement's rows do not add up to its summary",
    zh: '对账单明细与汇总不符',
  },
  wrong_day: { status: 422, en: 'The statement is for another day', zh: '对账单日期不符' },
  database_required: { status: 400, en: 'This needs the bridge database (--db)', zh: '需要指定平台数据库（--db）' },
  output_unwritable: { status: 500, en: 'The report cannot be written', zh: '无法写入报告' },
  day_signed_off: { status: 409, en: 'This day is already signed off', zh: '该日已签核' },
  statement_rejected: { status: 422, en: 'The statement was rejected', zh: '对账单被拒收' },
  no_statement: { status: 409, en: 'There is no statement for this day yet', zh: '该日尚无对账单' },
  // Checkouts (one-code) and merchant webhooks
  checkout_not_found: { status: 404, en: 'No such checkout', zh: '未找到该收款码' },
  checkout_expired: { status: 410, en: 'This checkout has expired', zh: '该收款码已过期' },
  checkout_closed: { status: 409, en: 'This checkout is already paid or cancelled', zh: '该收款码已支付或已取消' },
  amount_over_limit: {
    status: 400,
    en: 'The amount is more than this store accepts on its code',
    zh: '金额超过本店收款码的上限',
  },
  url_not_allowed: {
    status: 400,
    en: "That URL is not on the merchant's allowed domains",
    zh: '该网址不在商户允许的域名内',
  },
  webhook_not_set: { status: 404, en: 'No webhook URL is set', zh: '尚未设置回调网址' },
  webhook_url_refused: {
    status: 400,
    en: 'That webhook URL is not allowed: use a public https URL, or ask the operator to allow private webhooks for this merchant',
    zh: '不允许使用该回调网址：请使用公网 https 网址，或请运营方为该商户开启私有网络回调',
  },
  // Payouts
  statement_invalid: {
    status: 400,
    en: 'The bank statement file could not be read',
    zh: '无法读取该银行对账单文件',
  },
  // Everything else
  internal: { status: 500, en: 'Something went wrong on our side', zh: '系统内部错误' },
  config_invalid: { status: 500, en: 'The configuration is not valid', zh: '配置无效' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class KauriError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;

  /** Seconds after which trying again may work (answered as Retry-After). */
  readonly retryAfterS?: number;

  constructor(
    code: ErrorCode,
    message?: string,
    options?: { details?: unknown; cause?: unknown; retryAfterS?: number },
  ) {
    super(message ?? ERRORS[code].en, { cause: options?.cause });
    this.name = 'KauriError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options?.details;
    if (options?.retryAfterS !== undefined) this.retryAfterS = options.retryAfterS;
  }

  get zh(): string {
    return ERRORS[this.code].zh;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isKauriError(e: unknown): e is KauriError {
  return e instanceof KauriError;
}
