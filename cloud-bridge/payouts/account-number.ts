// New Zealand bank account numbers: BB-bbbb-AAAAAAA-SSS. Validation follows the published
// bank account number check-digit specification (being filled in).

export type AccountCheck =
  | {
      ok: true;
      /** BB-bbbb-AAAAAAA-SSS, suffix always three digits. */
      normalised: string;
      bank: string;
      branch: string;
      base: string;
      suffix: string;
    }
  | {
      ok: false;
      reason: 'malformed' | 'unknown_bank' | 'branch_out_of_range' | 'bad_check_digits';
      message: string;
    };

export function checkNzAccount(input: string): AccountCheck {
  void input;
  throw new Error('not implemented');
}
