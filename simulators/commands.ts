import type { Command } from 'commander';
import { registerWechatSimCommand } from './wechat/command.js';
import { registerAlipaySimCommand } from './alipay/command.js';
import { registerDeviceSimCommands } from './printer/command.js';
import { registerBankSimCommand } from './bank/command.js';

// `kauri sim <name>`: each simulator registers its own subcommand here.
// Simulators share no code with the rest of Kauri (lint rule): they are stand-ins
// for outside systems and are reached only over the wire.
export function registerSimCommands(program: Command): void {
  const sim = program
    .command('sim')
    .description('protocol-faithful simulators of the payment channels and counter devices');
  registerWechatSimCommand(sim);
  registerAlipaySimCommand(sim);
  registerDeviceSimCommands(sim);
  registerBankSimCommand(sim);
}
