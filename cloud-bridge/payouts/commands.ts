import type { Command } from 'commander';
import { checkNzAccount } from './account-number.js';

// `kauri admin bank-account check NUMBER`: the same check HQ's forms make, from a shell, with
// no database, so an operator can test a number a merchant sent before recording it.

/** Adds the `bank-account` subcommands to `kauri admin` (created by the bridge's commands). */
export function registerPayoutAdminCommands(program: Command): void {
  const admin =
    program.commands.find((c) => c.name() === 'admin') ?? program.command('admin').description('administration');
  const bankAccount =
    admin.commands.find((c) => c.name() === 'bank-account') ??
    admin.command('bank-account').description("merchants' New Zealand bank accounts");
  bankAccount
    .command('check')
    .description('check a New Zealand bank account number (bank, branch and check digits) and print it normalised')
    .argument('<number>', 'BB-bbbb-AAAAAAA-SSS; dashes or spaces between the parts, or the digits run together')
    .option('--json', 'print JSON')
    .action((number: string, o: { json?: boolean }) => {
      const r = checkNzAccount(number);
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (r.ok) process.stdout.write(`${r.normalised}\n`);
      if (!r.ok) {
        if (!o.json) process.stderr.write(`${r.reason}: ${r.message}\n`);
        process.exitCode = 2;
      }
    });
}
