"""A simple market maker: a bid and an ask around a fair price, inside the band.

    python market_maker.py --server http://127.0.0.1:50051 \\
        --key trader.key --actor HZ-TRADER --instrument ZJEA-2025 --fills 10

It quotes ``--qty`` t on each side, ``--half-spread`` ticks (0.01 CNY) away
from its fair price: the day's band reference at first, then the price of
its last fill. Both quotes are clamped inside the band (RULEBOOK.md 5:
``[ceil_tick(ref * 0.90), floor_tick(ref * 1.10)]``), which the book gives.
It follows its execution stream; after each fill it cancels what is left
and quotes again around the new fair price. It stops after ``--fills``
fills, after ``--duration`` seconds without one, or at the day's close, and
cancels its quotes on the way out.
"""

from __future__ import annotations

import argparse
import sys
import threading
from decimal import Decimal

from carbon_ledger import Book, Ledger, Trade, UnknownOrder

TICK = Decimal("0.01")


def quotes(book: Book, fair: Decimal, half_spread: int) -> tuple[Decimal, Decimal]:
    """The bid and ask around ``fair``, inside the band and at least a tick apart."""
    bid = min(max(fair - half_spread * TICK, book.band_low), book.band_high - TICK)
    ask = max(min(fair + half_spread * TICK, book.band_high), bid + TICK)
    return bid, ask


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default="http://127.0.0.1:50051")
    p.add_argument("--key", required=True)
    p.add_argument("--actor", required=True)
    p.add_argument("--instrument", required=True)
    p.add_argument("--qty", type=int, default=100)
    p.add_argument("--half-spread", type=int, default=10, help="ticks from the fair price to each quote")
    p.add_argument("--fills", type=int, default=0, help="stop after this many fills (0: never)")
    p.add_argument("--duration", type=float, default=60, help="stop after this many seconds without a fill")
    a = p.parse_args()

    with Ledger(a.server, a.key, a.actor) as ledger:
        book = ledger.book(a.instrument)
        if not book.day_open or book.halted:
            print(f"{a.instrument}: no open day or halted", file=sys.stderr)
            return 1
        fair = book.reference
        resting: dict[str, str] = {}  # order id -> side
        fills = 0

        def quote() -> None:
            for id in list(resting):
                try:
                    ledger.cancel(id)
                except UnknownOrder:
                    pass  # filled or expired meanwhile
                del resting[id]
            bid, ask = quotes(book, fair, a.half_spread)
            resting[ledger.buy(a.instrument, a.qty, bid).id or ""] = "buy"
            resting[ledger.sell(a.instrument, a.qty, ask).id or ""] = "sell"
            print(f"quoting {bid} / {ask} ({a.qty} t each)", flush=True)

        with ledger.executions() as updates:
            idle = threading.Timer(a.duration, updates.close)
            idle.start()
            try:
                quote()
                for u in updates:
                    if u.kind == "day_closed":
                        print("the day closed; quotes expired")
                        resting.clear()
                        break
                    trade = u.detail
                    if u.kind != "trade" or not isinstance(trade, Trade) or trade.instrument != a.instrument:
                        continue
                    mine = trade.buy_id if trade.buy_id in resting else trade.sell_id
                    if mine not in resting:
                        continue
                    fills += 1
                    print(f"filled: {resting[mine]} {trade.qty} t at {trade.price}", flush=True)
                    idle.cancel()
                    fair = trade.price
                    book = ledger.book(a.instrument)
                    quote()
                    if a.fills and fills >= a.fills:
                        break
                    idle = threading.Timer(a.duration, updates.close)
                    idle.start()
            finally:
                idle.cancel()
                for id in resting:
                    try:
                        ledger.cancel(id)
                    except UnknownOrder:
                        pass
        print(f"stopped after {fills} fills")
    return 0


if __name__ == "__main__":
    sys.exit(main())
