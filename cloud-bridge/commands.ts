import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { resolveSecretKey } from './secret-key.js';
import type { AccountsRepo } from './store/accounts.js';
import type { AuditLog } from './hq/audit.js';
import type { People } from './hq/people.js';
import type { Store } from './store/db.js';
import { ROLES, type Role } from './hq/scope.js';
import { format, parseDecimal } from '../protocol/money.js';
import { maxPaymentOf, parseMaxPayment } from './orders/limits.js';
import { CHANNELS, type ChannelName } from '../protocol/payments.js';

const DEFAULT_DB = 'sqlite:./data/bridge.db';
const PRIVATE_WEBHOOKS_HELP =
  "let this merchant's webhooks go to private, loopback and link-local addresses and over http (a receiver on the shop's own network); every bridge sharing the database follows it";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
}

function roleList(value: string): Role[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of roles)
    if (!(ROLES as readonly string[]).includes(r))
      throw new InvalidArgumentError(`unknown role "${r}" (roles: ${ROLES.join(', ')})`);
  return roles as Role[];
}

function dataDirOf(dbUrl: string): string {
  return dbUrl.startsWith('sqlite:') ? dirname(dbUrl.slice('sqlite:'.length)) : './data';
}

export function registerBridgeCommands(program: Command): void {
  program
    .command('bridge')
    .description('run the cloud bridge (merchant API, channel notifies, jobs)')
    .option('--port <n>', 'port to listen on', port, 7300)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--db <url>', 'sqlite:PATH or postgres://…', DEFAULT_DB)
    .option('--public-url <url>', 'the URL customers and channels reach this bridge at')
    .option(
      '--trust-proxy <spec>',
      'believe X-Forwarded-For from these proxies: addresses/CIDRs (comma-separated) or a hop count (default KAURI_TRUST_PROXY, else none)',
    )
    .option('--files <dir>', 'folder for raw channel files (content-addressed)')
    .option(
      '--metrics-listen <host:port>',
      'serve Prometheus /metrics on this separate address, without a token (default KAURI_METRICS_LISTEN)',
    )
    .option(
      '--metrics-token <token>',
      'serve /metrics on the bridge port to "Authorization: Bearer <token>" (prefer KAURI_METRICS_TOKEN: a command line is visible to other users)',
    )
    .option(
      '--demo',
      'seed the demo merchant, store and channel accounts (simulators on the default ports) and print its API key',
    )
    .option('--wechat-sim <url>', 'with --demo: the WeChat simulator', 'http://127.0.0.1:7301')
    .option(
      '--wechat-sim-state <dir>',
      'with --demo: the WeChat simulator state folder (its client certificate, for --tls)',
    )
    .option('--alipay-sim <url>', 'with --demo: the Alipay simulator', 'http://127.0.0.1:7302')
    .option('--alipay-sim-state <dir>', 'with --demo: the Alipay simulator state folder')
    .option('--bank-sim <url>', 'with --demo: the bank simulator', 'http://127.0.0.1:7303')
    .option('--bank-sim-state <dir>', 'with --demo: the bank simulator state folder')
    .option(
      '--require-totp <roles>',
      'roles that must sign in to /hq with two-factor codes, comma-separated (e.g. hq_admin,hq_finance); never the --demo HQ user',
      roleList,
      [],
    )
    .action(async (opts) => {
      // The bridge and its channels load only when this command runs.
      const [
        { startBridge, parseTrustProxy },
        { seedDemo, DEMO_HQ_USER },
        { demoChannelAccounts },
        { pullRatesBeforeReady },
      ] = await Promise.all([
        import('./bridge.js'),
        import('./demo.js'),
        import('./channels/index.js'),
        import('./fx/index.js'),
      ]);
      const dataDir = dataDirOf(opts.db);
      const secretKey = resolveSecretKey(dataDir, (l) => process.stderr.write(`${l}\n`));
      const bridge = await startBridge({
        dbUrl: opts.db,
        port: opts.port,
        host: opts.host,
        publicBaseUrl: opts.publicUrl,
        secretKey,
        ...(opts.trustProxy !== undefined ? { trustProxy: parseTrustProxy(opts.trustProxy) } : {}),
        filesDir: opts.files ?? `${dataDir}/files`,
        metrics: { token: opts.metricsToken, listen: opts.metricsListen },
        hq: { requireTotp: opts.requireTotp, totpExemptUsers: opts.demo ? [DEMO_HQ_USER] : [] },
      });
      const stop = async () => {
        await bridge.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (opts.demo) {
        const seed = await seedDemo(bridge.accounts, {
          registry: bridge.channels,
          bridgeUrl: opts.publicUrl ?? bridge.url,
          channelAccounts: await demoChannelAccounts({
            wechat: { url: opts.wechatSim, stateDir: opts.wechatSimState },
            alipay: { url: opts.alipaySim, stateDir: opts.alipaySimState },
            bank: { url: opts.bankSim, stateDir: opts.bankSimState },
          }),
        });
        const { problems } = await pullRatesBeforeReady(bridge.fx);
        for (const p of [...seed.problems, ...problems]) process.stderr.write(`warning: ${p}\n`);
        process.stdout.write(
          `demo merchant ${seed.merchantId}, store ${seed.storeCode}, channels: ${seed.channels.join(', ') || 'none'}\n`,
        );
        process.stdout.write(`demo API key: ${seed.apiKey}\n`);
        if (seed.hqPassword) process.stdout.write(`demo HQ login: ${seed.hqUser} / ${seed.hqPassword}\n`);
      }
      if (bridge.metricsUrl) process.stdout.write(`metrics on ${bridge.metricsUrl}\n`);
      process.stdout.write(`bridge listening on ${bridge.url}\n`);
    });

  registerAdminCommands(program);
}

async function withAccounts<T>(dbUrl: string, fn: (accounts: AccountsRepo) => Promise<T>): Promise<T> {
  const secretKey = resolveSecretKey(dataDirOf(dbUrl), (l) => process.stderr.write(`${l}\n`));
  // The store and its drivers load only when a command that needs them runs.
  const [{ openStore }, { AccountsRepo }, { SecretBox }] = await Promise.all([
    import('./store/db.js'),
    import('./store/accounts.js'),
    import('./store/secret-box.js'),
  ]);
  const store = await openStore(dbUrl);
  try {
    return await fn(new AccountsRepo(store, new SecretBox(secretKey)));
  } finally {
    await store.close();
  }
}

/** The accounts, audit log and people of the database, for commands that change users. */
async function withPeople<T>(
  dbUrl: string,
  fn: (deps: { accounts: AccountsRepo; audit: AuditLog; people: People; store: Store }) => Promise<T>,
): Promise<T> {
  const secretKey = resolveSecretKey(dataDirOf(dbUrl), (l) => process.stderr.write(`${l}\n`));
  const [{ openStore }, { AccountsRepo }, { SecretBox }, { AuditLog }, { People }, { systemClock }] = await Promise.all(
    [
      import('./store/db.js'),
      import('./store/accounts.js'),
      import('./store/secret-box.js'),
      import('./hq/audit.js'),
      import('./hq/people.js'),
      import('../protocol/clock.js'),
    ],
  );
  const store = await openStore(dbUrl);
  try {
    const clock = systemClock();
    const accounts = new AccountsRepo(store, new SecretBox(secretKey), { clock });
    const audit = new AuditLog(store, { clock });
    return await fn({ accounts, audit, people: new People({ store, accounts, audit, clock }), store });
  } finally {
    await store.close();
  }
}

function print(value: unknown, json: boolean, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}

function jsonArg(label: string) {
  return (value: string): Record<string, any> => {
    try {
      const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
      const parsed = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      return parsed;
    } catch (err) {
      throw new InvalidArgumentError(`${label} must be a JSON object (or @file): ${(err as Error).message}`);
    }
  };
}

function maxPaymentOption(): Option {
  return new Option(
    '--max-payment <amount>',
    'the most one payment may be, e.g. 50000.00 (NZD) or "50000.00 AUD"; default NZD 50,000.00',
  ).argParser((v: string) => {
    try {
      return parseMaxPayment(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}

function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('manage merchants, stores, API keys, channel accounts and HQ users (no direct database edits)');
  const db = () => new Option('--db <url>', 'sqlite:PATH or postgres://…').default(DEFAULT_DB);
  const json = () => new Option('--json', 'print JSON');

  const merchant = admin.command('merchant').description('merchants');
  merchant
    .command('create')
    .description('create a merchant')
    .requiredOption('--name <name>', 'trading name')
    .option('--allowed-domain <host...>', 'host names allowed in return_url and notify_url')
    .option('--fx-markup <fraction>', 'FX markup for the bank channel, e.g. 0.02', '0.02')
    .option('--allow-private-webhooks', PRIVATE_WEBHOOKS_HELP)
    .addOption(maxPaymentOption())
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      if (!/^0(\.\d{1,6})?$/.test(o.fxMarkup)) throw new Error('--fx-markup must be a fraction below 1, e.g. 0.02');
      const m = await withAccounts(o.db, (a) =>
        a.createMerchant({
          name: o.name,
          allowedDomains: o.allowedDomain ?? [],
          fxMarkup: o.fxMarkup,
          allowPrivateWebhooks: o.allowPrivateWebhooks === true,
          maxPayment: o.maxPayment,
        }),
      );
      print(m, o.json, `merchant ${m.id} created: ${m.name} (maximum per payment ${format(maxPaymentOf(m))})`);
    });
  // One `update` command: each setting HQ may change is an option of it. The merchant is
  // named by argument or by --merchant (as every other admin command names it).
  merchant
    .command('update')
    .description("change a merchant's settings")
    .argument('[id]', 'merchant id (mch_…)')
    .option('--merchant <id>', 'merchant id (instead of the argument)')
    .option('--allow-private-webhooks', PRIVATE_WEBHOOKS_HELP)
    .option('--no-allow-private-webhooks', 'webhooks only to public https URLs (the default)')
    .addOption(maxPaymentOption())
    .addOption(
      new Option(
        '--off',
        'turn the merchant off: it starts no new payment (merchant_disabled); refunds, reconciliation and payouts carry on',
      ).conflicts('on'),
    )
    .option('--on', 'turn the merchant on again')
    .addOption(db())
    .addOption(json())
    .action(async (arg: string | undefined, o) => {
      const id = arg ?? o.merchant;
      const disabled = o.off === true ? true : o.on === true ? false : undefined;
      if (!id)
        throw new Error(
          'name the merchant: kauri admin merchant update mch_… [--max-payment AMOUNT] [--allow-private-webhooks]',
        );
      const allowPrivate = o.allowPrivateWebhooks as boolean | undefined;
      // With no setting named it changes nothing and shows the merchant's current settings.
      const m = await withPeople(o.db, async ({ accounts: a, audit, store }) => {
        if (!(await a.getMerchant(id))) return undefined;
        if (o.maxPayment) await a.setMaxPayment(id, o.maxPayment);
        if (allowPrivate !== undefined) await a.updateMerchant(id, { allowPrivateWebhooks: allowPrivate });
        // Off and on are written with their audit row, as the back office writes them.
        if (disabled !== undefined)
          await store.db.transaction().execute(async (trx) => {
            await a.updateMerchant(id, { disabled }, trx);
            await audit.record(
              { actor: 'cli', action: disabled ? 'merchant.disable' : 'merchant.enable', merchantId: id, target: id },
              trx,
            );
          });
        return a.getMerchant(id);
      });
      if (!m) throw new Error(`no merchant "${id}"`);
      print(
        m,
        o.json,
        `merchant ${m.id} (${m.name})${o.maxPayment !== undefined || allowPrivate !== undefined || disabled !== undefined ? ' updated' : ''}${m.disabled_at ? `: OFF since ${m.disabled_at}` : ''}: maximum per payment ${format(maxPaymentOf(m))}; webhooks ${m.allow_private_webhooks ? 'may go to private addresses and http' : 'only to public https URLs'}`,
      );
    });
  merchant
    .command('list')
    .description('list merchants')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const list = await withAccounts(o.db, (a) => a.listMerchants());
      print(list, o.json, list.map((m) => `${m.id}\t${m.name}`).join('\n') || '(no merchants)');
    });

  const store = admin.command('store').description('stores of a merchant');
  store
    .command('create')
    .description('create a store')
    .requiredOption('--merchant <id>', 'merchant id')
    .requiredOption('--name <name>', 'store name')
    .option('--code <code>', 'the store code printed on its sticker (default: random)')
    .option('--timezone <tz>', 'IANA time zone', 'Pacific/Auckland')
    .option('--max-static-amount <NZD>', 'largest amount a customer may type on the store code', '5000.00')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const max = parseDecimal(o.maxStaticAmount, 'NZD');
      if (o.code && !/^[A-Za-z0-9_-]{3,40}$/.test(o.code)) throw new Error('--code must be 3–40 of A-Z a-z 0-9 _ -');
      const s = await withAccounts(o.db, (a) =>
        a.createStore({
          merchantId: o.merchant,
          name: o.name,
          code: o.code,
          timezone: o.timezone,
          maxStaticAmountMinor: max.minor,
        }),
      );
      print(s, o.json, `store ${s.id} created: ${s.name} (code ${s.code})`);
    });
  store
    .command('list')
    .description('list the stores of a merchant')
    .requiredOption('--merchant <id>', 'merchant id')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const list = await withAccounts(o.db, (a) => a.listStores(o.merchant));
      print(list, o.json, list.map((s) => `${s.id}\t${s.code}\t${s.name}`).join('\n') || '(no stores)');
    });

  const key = admin.command('api-key').description('merchant API keys');
  key
    .command('create')
    .description('create an API key (shown once; only its hash is kept)')
    .requiredOption('--merchant <id>', 'merchant id')
    .option('--label <label>', 'what the key is for', 'default')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const k = await withAccounts(o.db, (a) => a.createApiKey(o.merchant, o.label));
      print(k, o.json, `API key ${k.id} (shown once): ${k.key}`);
    });
  key
    .command('revoke')
    .description('revoke an API key')
    .argument('<id>', 'key id (key_…)')
    .addOption(db())
    .action(async (id, o) => {
      await withAccounts(o.db, (a) => a.revokeApiKey(id));
      process.stdout.write(`API key ${id} revoked\n`);
    });

  const ca = admin.command('channel-account').description('merchant accounts on the payment channels');
  ca.command('set')
    .description("set the merchant's account on a channel (credentials are sealed with KAURI_SECRET_KEY)")
    .requiredOption('--merchant <id>', 'merchant id')
    .addOption(new Option('--channel <name>', 'channel').choices([...CHANNELS]).makeOptionMandatory())
    .requiredOption(
      '--config <json>',
      'non-secret settings as JSON (or @file): base URLs, app and merchant ids',
      jsonArg('--config'),
    )
    .requiredOption('--secrets <json>', 'credentials as JSON (or @file): keys, certificates', jsonArg('--secrets'))
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const acc = await withAccounts(o.db, (a) =>
        a.createChannelAccount({
          merchantId: o.merchant,
          channel: o.channel as ChannelName,
          config: o.config,
          secrets: o.secrets,
        }),
      );
      print(
        { id: acc.id, channel: acc.channel, merchantId: acc.merchantId },
        o.json,
        `${acc.channel} account ${acc.id} set for ${acc.merchantId}`,
      );
    });
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    ca.command(name)
      .description(
        disabled
          ? 'turn a channel account off: no new payment starts on it (channel_account_disabled)'
          : 'turn a channel account on again',
      )
      .argument('<id>', 'channel account id (cha_…)')
      .addOption(db())
      .action(async (id: string, o) => {
        const done = await withPeople(o.db, ({ accounts, audit, store }) =>
          store.db.transaction().execute(async (trx) => {
            const r = await accounts.setChannelAccountDisabled(id, disabled, trx);
            if (!r) return undefined;
            await audit.record(
              {
                actor: 'cli',
                action: `channel_account.${name}`,
                merchantId: r.merchantId,
                target: id,
                details: { channel: r.channel },
              },
              trx,
            );
            return r;
          }),
        );
        if (!done) throw new Error(`no channel account "${id}"`);
        process.stdout.write(`${done.channel} account ${id} of ${done.merchantId} turned ${disabled ? 'off' : 'on'}\n`);
      });
  }
  ca.command('list')
    .description('list channel accounts (without credentials)')
    .option('--merchant <id>', 'only this merchant')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      const list = await withAccounts(o.db, (a) => a.listChannelAccounts(o.merchant));
      print(
        list,
        o.json,
        list
          .map(
            (x) =>
              `${x.id}\t${x.merchantId}\t${x.channel}\t${x.active ? 'active' : 'replaced'}${x.disabledAt ? `\toff since ${x.disabledAt}` : ''}`,
          )
          .join('\n') || '(no channel accounts)',
      );
    });

  const user = admin.command('user').description('HQ and merchant users');
  const roleOption = () =>
    new Option(
      '--role <role>',
      'hq_admin, hq_finance (every merchant); merchant_admin, store_manager, viewer (one merchant); merchant_user is the old name of merchant_admin',
    )
      .choices([...ROLES, 'merchant_user'])
      .makeOptionMandatory();
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  const minor = (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('a whole number of minor units, 0 or more');
    return n;
  };
  const aliasNote = (role: string) => {
    if (role === 'merchant_user') process.stderr.write('note: merchant_user is now called merchant_admin\n');
  };
  user
    .command('create')
    .description('create a user; the password is read from KAURI_NEW_PASSWORD or generated and printed')
    .requiredOption('--username <name>', 'login name')
    .addOption(roleOption())
    .option('--merchant <id>', 'for merchant roles: their merchant')
    .option(
      '--store <id>',
      'for store_manager (required) and viewer: a store of the merchant (repeat for more)',
      collect,
    )
    .option(
      '--refund-limit <minor>',
      'largest refund this user may send, in minor units (default: none of their own)',
      minor,
    )
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      aliasNote(o.role);
      const password =
        process.env.KAURI_NEW_PASSWORD ?? (await import('node:crypto')).randomBytes(12).toString('base64url');
      const u = await withPeople(o.db, async ({ accounts, audit, store }) =>
        store.db.transaction().execute(async (trx) => {
          const created = await accounts.createUser(
            {
              username: o.username,
              password,
              role: o.role,
              merchantId: o.merchant,
              storeIds: o.store,
              refundLimitMinor: o.refundLimit,
            },
            trx,
          );
          await audit.record(
            {
              actor: 'cli',
              action: 'user.create',
              merchantId: created.merchant_id,
              target: created.id,
              details: { username: created.username, role: created.role, storeIds: o.store ?? [] },
            },
            trx,
          );
          return created;
        }),
      );
      print(
        { ...u, password: process.env.KAURI_NEW_PASSWORD ? undefined : password },
        o.json,
        `user ${u.username} (${u.role}) created${process.env.KAURI_NEW_PASSWORD ? '' : `; password (shown once): ${password}`}`,
      );
    });
  user
    .command('invite')
    .description(
      'make a one-time invitation link (valid 72 hours) with which a person sets their own name and password',
    )
    .addOption(roleOption())
    .option('--merchant <id>', 'for merchant roles: their merchant')
    .option(
      '--store <id>',
      'for store_manager (required) and viewer: a store of the merchant (repeat for more)',
      collect,
    )
    .option('--refund-limit <minor>', 'largest refund the user may send, in minor units', minor)
    .option('--url <url>', 'the URL people reach the bridge at (its --public-url)', 'http://127.0.0.1:7300')
    .addOption(db())
    .addOption(json())
    .action(async (o) => {
      aliasNote(o.role);
      const inv = await withPeople(o.db, ({ people }) =>
        people.invite(
          'cli',
          { role: o.role, merchantId: o.merchant, storeIds: o.store, refundLimitMinor: o.refundLimit },
          o.url,
        ),
      );
      print(
        { id: inv.id, link: inv.link, expiresAt: inv.expiresAt },
        o.json,
        `invitation ${inv.id} for a ${o.role === 'merchant_user' ? 'merchant_admin' : o.role} (shown once, valid until ${inv.expiresAt}):\n${inv.link}`,
      );
    });
}
