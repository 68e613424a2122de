export { BankChannel, BANK_PATHS, type PaymentForm } from './channel.js';
export { bankAccount, bankConfigSchema, type BankAccount } from './config.js';
export { bankDemoAccount, setSimNotifyUrl, SIM_DEFAULT_MERCHANT } from './demo-account.js';
export { fetchBankRates } from './rates.js';
