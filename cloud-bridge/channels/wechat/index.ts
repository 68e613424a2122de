export { WechatChannel, NOTIFY_ACK, notifyFailReply } from './channel.js';
export { wechatDemoAccount, SIM_DEFAULT_MERCHANT } from './demo-account.js';
export { closeWechatAgents } from './http.js';
export { oauthAuthorizeUrl, openidForCode } from './oauth.js';
export { wechatConfigSchema, wechatSecretsSchema } from './config.js';
