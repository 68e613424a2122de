export { AlipayChannel } from './channel.js';
export { parseRateFile, timeoutRuleFor } from './outcomes.js';
export { alipayDemoAccount, SIM_DEFAULT_PARTNER } from './demo-account.js';
export { AlipayClient } from './client.js';
export { AlipayError } from './errors.js';
export { closeAlipayAgents } from './http.js';
