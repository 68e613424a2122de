import { dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { parseDecimal } from '../../protocol/money.js';
import type { BankAccount, PayoutService } from './service.js';

// `kauri admin bank-account set|list|approve|reject`, `kauri admin operator-fee set|list` and
// `kauri admin payouts settings`: the same service (and audit) as the HQ page, from a shell.
// The actor recorded is the shell's user ("cli:NAME").

const DEFAULT_DB = 'sqlite:./data/bridge.db';

async function withPayouts<T>(dbUrl: string, fn: (p: PayoutService) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: `kauri admin --help` must not pay for the store and the services.
  const [
    { pino },
    { systemClock },
    { defaultChannels },
    { EventLog },
    { FileStore },
    { ReconcileService },
    { resolveSecretKey },
    { AccountsRepo },
    { openStore },
    { SecretBox },
    { PayoutService },
  ] = await Promise.all([
    import('pino'),
    import('../../protocol/clock.js'),
    import('../channels/index.js'),
    import('../events/event-log.js'),
    import('../files/file-store.js'),
    import('../reconcile/runs/service.js'),
    import('../secret-key.js'),
    import('../store/accounts.js'),
    import('../store/db.js'),
    import('../store/secret-box.js'),
    import('./service.js'),
  ]);
  const dataDir = dbUrl.startsWith('sqlite:') ? dirname(dbUrl.slice('sqlite:'.length)) : './data';
  const secretKey = resolveSecretKey(dataDir, (l) => process.stderr.write(`${l}\n`));
  const store = await openStore(dbUrl);
  try {
    const clock = systemClock();
    const log = pino({ level: 'silent' });
    const accounts = new AccountsRepo(store, new SecretBox(secretKey));
    const files = new FileStore(`${dataDir}/files`, store);
    const reconcile = new ReconcileService({
      store,
      accounts,
      channels: defaultChannels(),
      files,
      clock,
      log,
      contextFor: () => {
        throw new Error('no channel calls from the payout commands');
      },
    });
    return await fn(
      new PayoutService({ store, accounts, reconcile, events: new EventLog(store, clock), files, clock, log }),
    );
  } finally {
    await store.close();
  }
}

const actor = () => `cli:${process.env.USER ?? 'unknown'}`;
const nzd = (text: string) => parseDecimal(text, 'NZD').minor;
const accountLine = (a: BankAccount) =>
  [
    a.id,
    a.merchant_id,
    a.account_number,
    a.account_name,
    a.schedule + (a.schedule_day ? ` ${a.schedule_day}` : ''),
    `minimum ${(a.minimum_minor / 100).toFixed(2)}`,
    a.state,
    a.payable_from ? `payable from ${a.payable_from}` : '',
  ].join('\t');

export function registerPayoutDbAdminCommands(program: Command): void {
  const admin =
    program.commands.find((c) => c.name() === 'admin') ?? program.command('admin').description('administration');
  const db = () => new Option('--db <url>', 'sqlite:PATH or postgres://…').default(DEFAULT_DB);
  const json = () => new Option('--json', 'print JSON');
  const print = (value: unknown, asJson: boolean | undefined, human: string) =>
    process.stdout.write(asJson ? `${JSON.stringify(value)}\n` : `${human}\n`);

  const bankAccount =
    admin.commands.find((c) => c.name() === 'bank-account') ??
    admin.command('bank-account').description("merchants' New Zealand bank accounts");
  bankAccount
    .command('set')
    .description('record the account a merchant is paid into (a change is paid only after the cooling-off period)')
    .requiredOption('--merchant <id>', 'merchant id')
    .requiredOption('--number <account>', 'BB-bbbb-AAAAAAA-SSS')
    .requiredOption('--name <name>', 'the account name as the bank knows it')
    .addOption(
      new Option('--schedule <when>', 'how often they are paid')
        .choices(['daily', 'weekly', 'monthly'])
        .default('daily'),
    )
    .option('--day <n>', 'weekly: weekday 1 (Monday) to 7; monthly: day 1 to 28')
    .option('--minimum <NZD>', 'smallest payout; a smaller balance is carried to the next run', '0')
    .option('--propose', "record it as the merchant's proposal, for HQ to approve")
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const a = await withPayouts(o.db, (p) =>
        p.setAccount(
          {
            merchantId: o.merchant,
            accountNumber: o.number,
            accountName: o.name,
            schedule: o.schedule,
            scheduleDay: o.day === undefined ? null : Number(o.day),
            minimumMinor: nzd(o.minimum),
            actor: actor(),
          },
          { approve: o.propose !== true },
        ),
      );
      print(a, o.json, accountLine(a));
    });
  bankAccount
    .command('list')
    .description('active and proposed accounts')
    .option('--merchant <id>', 'one merchant only')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const list = await withPayouts(o.db, (p) => p.bankAccounts(o.merchant));
      print(list, o.json, list.map(accountLine).join('\n') || '(no bank accounts)');
    });
  for (const [name, approve] of [
    ['approve', true],
    ['reject', false],
  ] as const)
    bankAccount
      .command(name)
      .description(`${name} a merchant's proposed account`)
      .argument('<id>', 'the proposal (bac_…)')
      .addOption(db())
      .addOption(json())
      .action(async (id: string, o) => {
        const a = await withPayouts(o.db, (p) => p.decideAccount(id, approve, actor()));
        print(a, o.json, accountLine(a));
      });

  const fee = admin.command('operator-fee').description("the operator's own fee per merchant and channel");
  fee
    .command('set')
    .description('a percentage of each payment plus a fixed amount per payment')
    .requiredOption('--merchant <id>', 'merchant id')
    .addOption(
      new Option('--channel <channel>', 'payment channel').choices(['wechat', 'alipay', 'bank']).makeOptionMandatory(),
    )
    .requiredOption('--percent <n>', 'e.g. 1.5 for 1.5 %')
    .option('--fixed <NZD>', 'per payment', '0')
    .addOption(db())
    .action(async (o) => {
      await withPayouts(o.db, (p) =>
        p.setFee(o.merchant, o.channel, { percent: o.percent, fixedMinor: nzd(o.fixed) }, actor()),
      );
      process.stdout.write(
        `operator fee for ${o.merchant} on ${o.channel}: ${o.percent} % + NZD ${o.fixed} per payment\n`,
      );
    });
  fee
    .command('list')
    .description('every operator fee')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const list = await withPayouts(o.db, (p) => p.fees());
      print(
        list,
        o.json,
        list
          .map((f) => `${f.merchant_id}\t${f.channel}\t${f.percent} %\t+ ${(f.fixed_minor / 100).toFixed(2)}`)
          .join('\n') || '(no operator fees)',
      );
    });

  admin
    .command('payouts')
    .description('payout settings')
    .command('settings')
    .description("the operator's own (paying) account and the cooling-off after an account change")
    .option('--originator-account <account>', 'the account payouts are paid from')
    .option('--originator-name <name>', 'its name')
    .option('--cooling-off-hours <n>', 'hours a changed account waits before it is paid (default 24)')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const s = await withPayouts(o.db, async (p) => {
        if (o.originatorAccount || o.originatorName || o.coolingOffHours !== undefined)
          await p.setSettings(
            {
              originatorAccount: o.originatorAccount,
              originatorName: o.originatorName,
              coolingOffHours: o.coolingOffHours === undefined ? undefined : Number(o.coolingOffHours),
            },
            actor(),
          );
        return p.settings();
      });
      print(
        s,
        o.json,
        `paid from ${s.originatorAccount ?? '(not set)'} ${s.originatorName ?? ''}; cooling-off ${s.coolingOffHours} h`,
      );
    });
}
