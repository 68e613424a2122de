// One rule for "the refunds of a payment before this one", shared by the refund's send (the bank
// is asked for a part's CNY from the running total) and reconciliation (which recomputes that CNY
// to compare it with the bank's statement): the two must count the same refunds.

export interface RefundOfPayment {
  id: string;
  order_id: string;
  amount_minor: number;
  status: string;
  created_at: string;
}

/**
 * What a payment's refunds created before `r` and not failed add up to, in minor units. Ties
 * in time go by id, so of two refunds reserved at once exactly one counts the other.
 */
export function refundedBefore(
  all: readonly RefundOfPayment[],
  r: Pick<RefundOfPayment, 'id' | 'order_id' | 'created_at'>,
): number {
  return all
    .filter(
      (x) =>
        x.order_id === r.order_id &&
        x.status !== 'failed' &&
        (x.created_at < r.created_at || (x.created_at === r.created_at && x.id < r.id)),
    )
    .reduce((sum, x) => sum + Number(x.amount_minor), 0);
}
