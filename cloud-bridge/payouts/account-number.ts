// New Zealand bank account numbers, BB-bbbb-AAAAAAA-SSS, checked the way Inland Revenue's
// published validation rules say: "Bank account number validation" in Inland Revenue's
// "Non-Resident Withholding Tax and Resident Withholding Tax (RWT/NRWT) Specification Document"
// (31 March 2016 edition; the same section is carried in the 2020 "Resident Withholding Tax (RWT)
// and Non-Resident Withholding Tax (NRWT) Filed Electronically" software requirements
// specification, version 1.0). The bank and branch ranges are Payments NZ's allocations as that
// document lists them.
//
// Two steps, as the specification orders them: the branch must lie in one of the ranges allocated
// to the bank (which also names the algorithm), then a weighted sum over the whole number,
// each part right-justified and zero-padded to its maximum size (bank 2, branch 4, base 8,
// suffix 4), must divide by the algorithm's modulus.

export type AccountCheck =
  | {
      ok: true;
      /** BB-bbbb-AAAAAAA-SSS, suffix always three digits. */
      normalised: string;
      bank: string;
      branch: string;
      base: string;
      suffix: string;
      /** The check-digit algorithm the specification assigns to this account. */
      algorithm: Algorithm;
    }
  | {
      ok: false;
      reason: 'malformed' | 'unknown_bank' | 'branch_out_of_range' | 'bad_check_digits';
      message: string;
    };

export type Algorithm = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'X';

/** 'AB' = the specification's "see note": A when the base is below 00990000, else B. */
type BankAlgorithm = 'AB' | 'D' | 'E' | 'F' | 'G' | 'X';

interface BankRule {
  readonly branches: readonly (readonly [number, number])[];
  readonly algorithm: BankAlgorithm;
}

const BANKS: Readonly<Record<string, BankRule>> = {
  '01': {
    branches: [
      [1, 999],
      [1100, 1199],
      [1800, 1899],
    ],
    algorithm: 'AB',
  },
  '02': {
    branches: [
      [1, 999],
      [1200, 1299],
    ],
    algorithm: 'AB',
  },
  '03': {
    branches: [
      [1, 999],
      [1300, 1399],
      [1500, 1599],
      [1700, 1799],
      [1900, 1999],
    ],
    algorithm: 'AB',
  },
  '06': {
    branches: [
      [1, 999],
      [1400, 1499],
    ],
    algorithm: 'AB',
  },
  '08': { branches: [[6500, 6599]], algorithm: 'D' },
  '09': { branches: [[0, 0]], algorithm: 'E' },
  '11': {
    branches: [
      [5000, 6499],
      [6600, 8999],
    ],
    algorithm: 'AB',
  },
  '12': {
    branches: [
      [3000, 3299],
      [3400, 3499],
      [3600, 3699],
    ],
    algorithm: 'AB',
  },
  '13': { branches: [[4900, 4999]], algorithm: 'AB' },
  '14': { branches: [[4700, 4799]], algorithm: 'AB' },
  '15': { branches: [[3900, 3999]], algorithm: 'AB' },
  '16': { branches: [[4400, 4499]], algorithm: 'AB' },
  '17': { branches: [[3300, 3399]], algorithm: 'AB' },
  '18': { branches: [[3500, 3599]], algorithm: 'AB' },
  '19': { branches: [[4600, 4649]], algorithm: 'AB' },
  '20': { branches: [[4100, 4199]], algorithm: 'AB' },
  '21': { branches: [[4800, 4899]], algorithm: 'AB' },
  '22': { branches: [[4000, 4049]], algorithm: 'AB' },
  '23': { branches: [[3700, 3799]], algorithm: 'AB' },
  '24': { branches: [[4300, 4349]], algorithm: 'AB' },
  '25': { branches: [[2500, 2599]], algorithm: 'F' },
  '26': { branches: [[2600, 2699]], algorithm: 'G' },
  '27': { branches: [[3800, 3849]], algorithm: 'AB' },
  '28': { branches: [[2100, 2149]], algorithm: 'G' },
  '29': { branches: [[2150, 2299]], algorithm: 'G' },
  '30': { branches: [[2900, 2949]], algorithm: 'AB' },
  '31': { branches: [[2800, 2849]], algorithm: 'X' },
  '33': { branches: [[6700, 6799]], algorithm: 'F' },
  '35': { branches: [[2400, 2499]], algorithm: 'AB' },
  '38': { branches: [[9000, 9499]], algorithm: 'AB' },
};

interface Weights {
  /** 18 weights: bank (2), branch (4), base (8), suffix (4). */
  readonly w: readonly number[];
  readonly modulus: number;
  /** E and G: a product's two digits are added, and again the two digits of that result. */
  readonly foldDigits: boolean;
}

// The specification's weighting table (its "A" is ten).
const WEIGHTS: Readonly<Record<Algorithm, Weights>> = {
  A: { w: [0, 0, 6, 3, 7, 9, 0, 0, 10, 5, 8, 4, 2, 1, 0, 0, 0, 0], modulus: 11, foldDigits: false },
  B: { w: [0, 0, 0, 0, 0, 0, 0, 0, 10, 5, 8, 4, 2, 1, 0, 0, 0, 0], modulus: 11, foldDigits: false },
  C: { w: [3, 7, 0, 0, 0, 0, 9, 1, 10, 5, 3, 4, 2, 1, 0, 0, 0, 0], modulus: 11, foldDigits: false },
  D: { w: [0, 0, 0, 0, 0, 0, 0, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0], modulus: 11, foldDigits: false },
  E: { w: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 4, 3, 2, 0, 0, 0, 1], modulus: 11, foldDigits: true },
  F: { w: [0, 0, 0, 0, 0, 0, 0, 1, 7, 3, 1, 7, 3, 1, 0, 0, 0, 0], modulus: 10, foldDigits: false },
  G: { w: [0, 0, 0, 0, 0, 0, 0, 1, 3, 7, 1, 3, 7, 1, 0, 3, 7, 1], modulus: 10, foldDigits: true },
  X: { w: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], modulus: 1, foldDigits: false },
};

function digitSum(n: number): number {
  let s = 0;
  for (let v = n; v > 0; v = Math.floor(v / 10)) s += v % 10;
  return s;
}

/**
 * The weighted sum's remainder for the 18-digit padded form (bank 2, branch 4, base 8, suffix 4);
 * 0 means the check digits are right. Exported for the tests of algorithm C, which no bank uses.
 */
export function checkRemainder(padded18: string, algorithm: Algorithm): number {
  const { w, modulus, foldDigits } = WEIGHTS[algorithm];
  let sum = 0;
  for (let i = 0; i < 18; i++) {
    let p = Number(padded18[i]) * w[i]!;
    if (foldDigits) p = digitSum(digitSum(p));
    sum += p;
  }
  return sum % modulus;
}

const SEPARATED = /^(\d{1,2})[-\s]+(\d{1,4})[-\s]+(\d{1,8})[-\s]+(\d{1,4})$/;
const PLAIN = /^\d{15,16}$/;

function malformed(input: string): AccountCheck {
  return {
    ok: false,
    reason: 'malformed',
    message: `"${input}" is not a New Zealand bank account number: expected BB-bbbb-AAAAAAA-SSS (bank, branch, account, suffix)`,
  };
}

/**
 * Reads the forms people write: dashes or spaces between the parts (a 3-digit branch, a 2-, 3- or
 * 4-digit suffix), or the 15 or 16 digits run together, and checks them.
 */
export function checkNzAccount(input: string): AccountCheck {
  const text = input.trim();
  let parts: [string, string, string, string];
  const m = SEPARATED.exec(text);
  if (m) {
    parts = [m[1]!, m[2]!, m[3]!, m[4]!];
  } else if (PLAIN.test(text)) {
    parts = [text.slice(0, 2), text.slice(2, 6), text.slice(6, 13), text.slice(13)];
  } else {
    return malformed(input);
  }
  const [bank, branch, base8, suffix4] = [
    parts[0].padStart(2, '0'),
    parts[1].padStart(4, '0'),
    parts[2].padStart(8, '0'),
    parts[3].padStart(4, '0'),
  ];
  // The written form has a 7-digit base and a 3-digit suffix; longer parts are only padding.
  if (base8[0] !== '0' || suffix4[0] !== '0') return malformed(input);
  const base = base8.slice(1);
  const suffix = suffix4.slice(1);
  const normalised = `${bank}-${branch}-${base}-${suffix}`;

  const rule = BANKS[bank];
  if (!rule) {
    return { ok: false, reason: 'unknown_bank', message: `${normalised}: bank ${bank} is not a New Zealand bank code` };
  }
  const branchNo = Number(branch);
  if (!rule.branches.some(([lo, hi]) => branchNo >= lo && branchNo <= hi)) {
    const ranges = rule.branches.map(([lo, hi]) => (lo === hi ? pad4(lo) : `${pad4(lo)}–${pad4(hi)}`)).join(', ');
    return {
      ok: false,
      reason: 'branch_out_of_range',
      message: `${normalised}: branch ${branch} is not one of bank ${bank}'s branches (${ranges})`,
    };
  }
  const algorithm: Algorithm = rule.algorithm === 'AB' ? (base8 < '00990000' ? 'A' : 'B') : rule.algorithm;
  if (checkRemainder(`${bank}${branch}${base8}${suffix4}`, algorithm) !== 0) {
    return {
      ok: false,
      reason: 'bad_check_digits',
      message: `${normalised}: the check digits are wrong (algorithm ${algorithm}); a digit is probably mistyped`,
    };
  }
  return { ok: true, normalised, bank, branch, base, suffix, algorithm };
}

function pad4(n: number): string {
  return String(n).padStart(4, '0');
}
