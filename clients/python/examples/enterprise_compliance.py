"""An enterprise buys its shortfall on the book and surrenders before the deadline.

    python enterprise_compliance.py --server http://127.0.0.1:50051 \\
        --key hz-steel.key --actor HZ-STEEL --year 2025

1. Its obligation is the verified emissions of its confirmed report (the
   obligation grows beyond that only by a claw-back that could not be taken,
   RULEBOOK.md 13.18: then ``EXCEEDS_OBLIGATION`` says less is owed).
2. It surrenders what it holds available of ``ZJEA-<year>`` now.
3. It buys the rest with an ioc limit order (at most ``--max-price``, by
   default the top of the day's band), which takes what the book offers.
4. Bought allowances are ``pending`` until the day closes (T+1, RULEBOOK.md
   3): it follows its execution stream until the close, then surrenders them.

It assumes it surrendered nothing for the year before. Exit status 0 when
the obligation is met, 2 when it is still short (the book had too little).
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal

from carbon_ledger import ExceedsObligation, Ledger


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default="http://127.0.0.1:50051")
    p.add_argument("--key", required=True, help="the entity's key file (carbon keygen)")
    p.add_argument("--actor", required=True, help="the entity's account id")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--instrument", help="default ZJEA-<year>")
    p.add_argument("--max-price", type=Decimal, help="the most it pays per tonne (default: the band's top)")
    a = p.parse_args()
    instrument = a.instrument or f"ZJEA-{a.year}"

    with Ledger(a.server, a.key, a.actor) as ledger:
        report = ledger.report(a.actor, a.year)
        if report.status != "confirmed" or report.verified is None:
            print(f"the {a.year} report is {report.status}, not confirmed: no obligation yet", file=sys.stderr)
            return 1
        obligation = report.verified
        held = ledger.account().holding(instrument)
        print(f"obligation {obligation} t; holding {held.available} available, {held.pending} pending")

        surrendered = 0

        def surrender(qty: int) -> None:
            nonlocal surrendered
            if qty <= 0:
                return
            try:
                ledger.surrender(a.year, instrument, qty)
            except ExceedsObligation:
                print(f"surrendering {qty} t exceeds what is still owed (surrendered before?)", file=sys.stderr)
                raise
            surrendered += qty
            print(f"surrendered {qty} t of {instrument}")

        surrender(min(held.available, obligation))
        to_buy = obligation - surrendered - held.pending
        bought = 0
        # The stream opens before the order, so that the close is not missed.
        with ledger.executions() as updates:
            if to_buy > 0:
                book = ledger.book(instrument)
                price = a.max_price or book.band_high
                result = ledger.buy(instrument, to_buy, price, tif="ioc")
                bought = result.order.filled if result.order else 0
                print(f"bought {bought} of {to_buy} t at up to {price} (order {result.id}: {result.order})")
                # Our order's ack on the stream: it is live before we wait.
                for u in updates:
                    if u.kind == "ack" and getattr(u.detail, "id", None) == result.id:
                        break
            if held.pending + bought > 0:
                print("waiting for the day's close (bought allowances are pending until then)", flush=True)
                for u in updates:
                    if u.kind == "day_closed":
                        print(f"the day {getattr(u.detail, 'date', '')} closed")
                        break
                available = ledger.account().holding(instrument).available
                surrender(min(available, obligation - surrendered))

    short = obligation - surrendered
    print(f"obligation {obligation} t, surrendered {surrendered} t, short {short} t")
    return 0 if short == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
