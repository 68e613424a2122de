import { ChannelRegistry } from './channel.js';
import { WechatChannel, wechatDemoAccount } from './wechat/index.js';
import { AlipayChannel, alipayDemoAccount } from './alipay/index.js';
import { BankChannel, bankDemoAccount } from './bank/index.js';

/** The channels this bridge speaks. Each channel issue adds its own here. */
export function defaultChannels(): ChannelRegistry {
  const registry = new ChannelRegistry();
  registry.register(new WechatChannel());
  registry.register(new AlipayChannel());
  registry.register(new BankChannel());
  return registry;
}

export interface SimulatorEndpoints {
  wechat?: { url: string; stateDir?: string };
  alipay?: { url: string; stateDir?: string };
  bank?: { url: string; stateDir?: string };
}

/** Demo channel accounts pointing at the simulators (their docs/CONTRACTS.md default merchants). */
export async function demoChannelAccounts(
  sims: SimulatorEndpoints,
): Promise<import('../demo.js').DemoChannelAccount[]> {
  const accounts: import('../demo.js').DemoChannelAccount[] = [];
  if (sims.wechat) accounts.push(wechatDemoAccount(sims.wechat));
  if (sims.alipay) accounts.push(alipayDemoAccount(sims.alipay));
  if (sims.bank) accounts.push(await bankDemoAccount(sims.bank));
  return accounts;
}
