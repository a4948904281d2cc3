#!/usr/bin/env python3
"""Random market-day generator (REPLAY.md format), realistic and adversarial.

    python3 gen_day.py --seed N --kind registry|exchange|compliance|mixed|supervision|energy|precision --lines L

It runs the reference model (carbon_ref.py) alongside, so that most commands
are plausible given the state (sellers hold what they sell, fok orders meet a
book, surrenders know the obligation), and mixes in a good share of every kind
of rejection.  Deterministic for a given seed.

Exchange and mixed days are built for volume: every open_day is followed by
the day's extras (most days a block proposal, usually accepted at once or
later, and a regulator's auction with several bids, closed explicitly or left
to close_day); `a_burst` rests liquidity on both sides near the band
reference and then sends takers (limit sweeps across several levels, market
ioc/fok) that cross it; each day closes after 50-160 lines, so a day file
holds a sequence of trading days whose closes move the next day's band.

The `supervision` and `energy` kinds (RULEBOOK v3, sections 14 and 15) add the
actions of gen_v3.py; the four older kinds are generated as before.

The `precision` kind is a compliance day whose allocations and reports often
carry long decimals (up to 28 significant digits, as many as the ledger
holds): random ones, and ones chosen so that the exact figure to be rounded
(`A * 0.70`, `A`, `baseline * (1 - decline)`, `E`, the indirect emissions)
lies within about 10^-27 of a half, on either side, where any rounding on
the way would show (RULEBOOK 13.3).  The other kinds draw no extra random
numbers: their days are what they were.
"""
import argparse
import json
import os
import random
import sys
from decimal import Decimal, localcontext, ROUND_DOWN, ROUND_UP
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import carbon_ref as ref  # noqa: E402
from gen_v3 import V3Mixin  # noqa: E402

OP = "ZJ-CEEX"
ZJ = "ZJ-DEE"
REGS = [(ZJ, "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB"), ("SX-EEB", "SX")]
REG_OF = {"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}


class Gen(V3Mixin):
    def __init__(self, seed, kind, lines):
        self.r = random.Random(seed)
        self.kind, self.target = kind, lines
        self.out = []
        self.n = 0
        self.market = None
        self.date = [2026, 3, 2]
        self.oid = 0
        self.results = []
        self.pending_accepts = []
        self.day_start, self.day_len = 0, 10 ** 9
        # long decimals in allocations and reports (the `precision` kind only)
        self.long_decimals = kind == "precision"

    # -- emitting
    def emit(self, obj=None, raw=None):
        line = raw if raw is not None else json.dumps(obj)
        self.out.append(line)
        self.n += 1
        if self.market is None:
            self.market = ref.genesis(obj)
            return {"ok": True}
        res = ref.apply_line(self.market, ref.parse_json(line), self.n)
        self.results.append(res)
        return res

    def cmd(self, actor, name, **kw):
        d = {"as": actor, "cmd": name}
        d.update({k: v for k, v in kw.items() if v is not None})
        return self.emit(d)

    def comment(self, text):
        self.out.append("# " + text)
        self.n += 1

    # -- helpers
    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(list(seq))

    def accounts(self, *roles):
        return sorted(a.id for a in self.market.accounts.values() if a.role in roles)

    def traders(self):
        return self.accounts("entity", "investor")

    def entities(self):
        return self.accounts("entity")

    def nid(self, prefix):
        self.oid += 1
        return "%s%d" % (prefix, self.oid)

    def next_date(self):
        y, m, d = self.date
        d += self.r.choice([1, 1, 1, 2, 3])
        if d > 28:
            d -= 28
            m += 1
        if m > 12:
            m, y = 1, y + 1
        self.date = [y, m, d]
        return "%04d-%02d-%02d" % (y, m, d)

    def ref_price(self, sym):
        m = self.market
        if m.day is not None and sym in m.day["refs"]:
            return m.day["refs"][sym]
        return m.instruments[sym]["ref"]

    def price_near(self, sym, spread=0.12, tick_bad=0.03):
        p = float(self.ref_price(sym)) * (1 + self.r.uniform(-spread, spread))
        p = max(p, 0.01)
        if self.chance(tick_bad):
            return "%.3f" % (p + 0.001)
        return "%.2f" % p

    def instruments(self):
        return sorted(self.market.instruments)

    def bad_actor(self):
        return self.pick(["GHOST", OP, ZJ, "HZ-EEB"] + self.accounts("verifier"))

    def held(self, aid, sym):
        a = self.market.accounts.get(aid)
        if a is None:
            return 0
        return a.h.get(sym, [0, 0, 0])[0]

    def cash(self, aid):
        a = self.market.accounts.get(aid)
        return a.cash if a else Decimal(0)

    # -- setup
    def setup(self):
        self.emit({"cmd": "genesis", "operator": OP,
                   "regulators": [{"id": i, "jurisdiction": j} for i, j in REGS]})
        n_ent = self.r.randint(4, 8)
        for i in range(n_ent):
            jur = self.pick(["HZ", "HZ", "NB", "NB", "SX"])
            if self.chance(0.2):
                self.cmd(ZJ, "create_account", id="%s-E%03d" % (jur, i), role="entity", jurisdiction=jur)
            else:
                self.cmd(REG_OF[jur], "create_account", id="%s-E%03d" % (jur, i), role="entity")
        for i in range(self.r.randint(2, 4)):
            self.cmd(ZJ, "create_account", id="INV-%03d" % i, role="investor", jurisdiction=self.pick(["HZ", "NB", "SX"]))
        self.cmd("HZ-EEB", "create_account", id="VER-A", role="verifier")
        self.cmd(ZJ, "create_account", id="VER-B", role="verifier", jurisdiction="NB")
        refs = {"ZJEA-2024": "55.00", "ZJEA-2025": "58.00", "ZJEA-2026": "61.50", "CCER": "42.10"}
        for s, p in refs.items():
            self.cmd(OP, "define_instrument", symbol=s, reference_price=p)
        for a in self.traders():
            self.cmd(OP, "deposit", account=a, amount="%d.%02d" % (self.r.randint(2, 80) * 10000, self.r.randint(0, 99)))
        for a in self.traders():
            for s in ("ZJEA-2025", "ZJEA-2024", "ZJEA-2026", "CCER"):
                if self.chance(0.7):
                    self.cmd(ZJ, "issue", instrument=s, to=a, qty=self.r.randint(1000, 60000))
        if self.kind in ("compliance", "mixed", "energy", "supervision", "precision"):
            self.cmd(ZJ, "define_factor_set", id="FS-2025", grid_tco2_per_mwh="0.4974",
                     fuels={"coal": {"ncv_gj_per_unit": "20.908", "carbon_tc_per_gj": "0.03085", "oxidation": "0.99"},
                            "gas": {"ncv_gj_per_unit": "389.31", "carbon_tc_per_gj": "0.01532", "oxidation": "0.99"}})

    # -- actions
    def a_open(self):
        m = self.market
        if m.day is None:
            if self.chance(0.08):
                self.cmd(OP, "open_day", date=self.pick(["2026-02-30", "2026-3-05", m.last_date or "2026-01-01"]))
            elif self.chance(0.05):
                self.cmd(self.pick(self.traders()), "open_day", date=self.next_date())
            else:
                res = self.cmd(OP, "open_day", date=self.next_date())
                if res.get("ok"):
                    self.pending_accepts = []
                    self.day_start = len(self.out)
                    self.day_len = self.r.randint(50, 160)
                    self.day_extras()
        else:
            if self.chance(0.1):
                self.cmd(OP, "open_day", date=self.next_date())
            elif self.chance(0.35 if self.kind == "exchange" else 0.6):
                self.cmd(OP, "close_day")
            else:
                self.a_order()

    def a_order(self):
        m = self.market
        if m.day is None and self.chance(0.8):
            return self.a_open()
        actor = self.pick(self.traders()) if not self.chance(0.04) else self.bad_actor()
        sym = self.pick(["ZJEA-2025"] * 4 + self.instruments()) if not self.chance(0.03) else "ZJEA-2099"
        if sym not in m.instruments:
            return self.cmd(actor, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day", price="50.00", qty=10)
        side = self.pick(["buy", "sell"])
        if side == "sell" and self.chance(0.85):
            holders = [a for a in self.traders() if self.held(a, sym) > 0 and not m.accounts[a].frozen]
            if holders:
                actor = self.pick(holders)
        book = m.book.get(sym, [])
        opp_all = [o for o in book if o.side != side]
        if opp_all and self.chance(0.75):
            target = self.pick(opp_all)
            others = [a for a in self.traders() if a != target.acct and not m.accounts[a].frozen
                      and (side == "buy" or self.held(a, sym) > 0)]
            if others and not self.chance(0.1):
                actor = self.pick(others)
        typ = "market" if self.chance(0.15) else "limit"
        tif = self.pick(["day", "day", "day", "ioc", "fok"]) if typ == "limit" else self.pick(["ioc", "fok"])
        if self.chance(0.03):
            tif = "day"
        h = self.held(actor, sym)
        if side == "sell" and self.chance(0.1):
            qty = self.r.randint(1, max(1, min(99999, h))) if not self.chance(0.3) else self.r.randint(1, 150000)
        else:
            qty = self.r.randint(1, 2500)
        if self.chance(0.03):
            qty = self.pick([0, -5, 100000, 99999])
        book = m.book.get(sym, [])
        if tif == "fok" and book and self.chance(0.6):
            opp = [o for o in book if o.side != side]
            if opp:
                o = self.pick(opp)
                qty = max(1, o.rem + self.r.randint(-20, 20))
                price = "%.2f" % (o.price + (Decimal("0.05") if side == "buy" else Decimal("-0.05")))
            else:
                price = self.price_near(sym, 0.05)
        elif book and self.chance(0.7):
            opp = [o for o in book if o.side != side]
            if opp:
                o = self.pick(opp)
                d = Decimal(self.r.randint(0, 30)) / 100
                price = str(o.price + d if side == "buy" else max(Decimal("0.01"), o.price - d))
            else:
                price = self.price_near(sym, 0.08)
        else:
            price = self.price_near(sym, 0.115)
        if typ == "market":
            price = None if not self.chance(0.05) else price
        elif self.chance(0.02):
            price = None
        oid = self.nid("o")
        if self.chance(0.02) and m.order_ids:
            oid = self.pick(sorted(m.order_ids))[1]
        return self.cmd(actor, "order", id=oid, instrument=sym, side=side, type=typ, tif=tif, price=price, qty=qty)

    # -- liquidity: a book on both sides near the reference, then takers that cross it
    def band(self, sym):
        ref_ = self.ref_price(sym)
        return ref.ceil_tick(ref_ * Decimal("0.90")), ref.floor_tick(ref_ * Decimal("1.10"))

    def tick_price(self, sym, ticks):
        lo, hi = self.band(sym)
        p = self.ref_price(sym) + Decimal(ticks) / 100
        return str(min(hi, max(lo, p)))

    def live_traders(self):
        return [a for a in self.traders() if not self.market.accounts[a].frozen]

    def a_burst(self, sym=None):
        m = self.market
        if m.day is None:
            return self.a_open()
        if sym is None:
            sym = self.pick(["ZJEA-2025"] * 5 + ["ZJEA-2024", "ZJEA-2026", "CCER"])
        if sym not in m.instruments:
            return None
        live = self.live_traders()
        if not live:
            return None
        # resting sells above and buys below the reference (some inside the spread, some at the same level)
        for _ in range(self.r.randint(1, 5)):
            holders = [a for a in live if self.held(a, sym) > 0]
            if not holders:
                break
            a = self.pick(holders)
            qty = self.r.randint(1, max(1, min(self.held(a, sym), self.pick([50, 400, 3000]))))
            self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day",
                     price=self.tick_price(sym, self.r.randint(-15, 60)), qty=qty)
        for _ in range(self.r.randint(1, 5)):
            a = self.pick(live)
            price = self.tick_price(sym, -self.r.randint(-15, 60))
            cap = int(self.cash(a) / Decimal(price)) if Decimal(price) > 0 else 0
            if cap < 1 and self.chance(0.8):
                continue
            qty = self.r.randint(1, max(1, min(cap, self.pick([50, 400, 3000]))))
            self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day", price=price, qty=qty)
        # takers: sweep several levels, with limit or market orders
        for _ in range(self.r.randint(1, 3)):
            side = self.pick(["buy", "sell"])
            opp = sorted((o for o in m.book.get(sym, []) if o.side != side),
                         key=(lambda o: (o.price, o.seq)) if side == "buy" else (lambda o: (-o.price, o.seq)))
            if not opp:
                continue
            n = self.r.randint(1, min(len(opp), 5))
            want = sum(o.rem for o in opp[:n]) + self.pick([0, 0, -1, 1, 7])
            want = max(1, min(99999, want))
            owners = {o.acct for o in opp[:n]}
            cands = [a for a in live if a not in owners] or live
            if side == "sell":
                cands = [a for a in cands if self.held(a, sym) > 0] or cands
            a = self.pick(cands)
            if side == "sell":
                want = max(1, min(want, self.held(a, sym) or want))
            typ = "market" if self.chance(0.3) else "limit"
            tif = self.pick(["ioc", "fok"]) if typ == "market" else self.pick(["day", "day", "ioc", "fok"])
            price = None
            if typ == "limit":
                worst = opp[n - 1].price
                d = Decimal(self.r.randint(0, 20)) / 100
                lo, hi = self.band(sym)
                price = str(min(hi, worst + d) if side == "buy" else max(lo, worst - d))
            if side == "buy" and self.cash(a) < self.band(sym)[1] * want and self.chance(0.7):
                self.cmd(OP, "deposit", account=a, amount="%d.00" % (int(self.band(sym)[1] * want) + 100))
            self.cmd(a, "order", id=self.nid("o"), instrument=sym, side=side, type=typ, tif=tif, price=price, qty=want)
        if self.chance(0.15):
            resting = [o for o in m.book.get(sym, [])]
            if resting:
                o = self.pick(resting)
                if self.chance(0.5):
                    self.cmd(o.acct, "cancel", id=o.id)
                else:
                    self.cmd(OP, "cancel", account=o.acct, id=o.id)
        return None

    def day_extras(self):
        """Right after an open_day: most days get a block trade and an auction."""
        m = self.market
        if m.day is None or self.kind not in ("exchange", "mixed", "supervision", "energy"):
            return
        live = self.live_traders()
        if len(live) >= 2 and self.chance(0.75):
            prop, cp = self.r.sample(live, 2)
            sym = self.pick(["ZJEA-2025", "ZJEA-2025", "ZJEA-2024"])
            side = self.pick(["buy", "sell"])
            seller = prop if side == "sell" else cp
            buyer = cp if side == "sell" else prop
            qty = self.pick([100000, 100000, self.r.randint(100000, 180000)])
            ref_ = self.ref_price(sym)
            lo, hi = ref.ceil_tick(ref_ * Decimal("0.70")), ref.floor_tick(ref_ * Decimal("1.30"))
            price = self.pick([lo, hi, ref_, ref.floor_tick(ref_ * Decimal(str(self.r.uniform(0.72, 1.28))))])
            if self.held(seller, sym) < qty and m.accounts[seller].role == "entity":
                self.cmd(ZJ, "issue", instrument=sym, to=seller, qty=qty)
            elif self.held(seller, sym) < qty:
                donors = [a for a in self.entities()]
                if donors:
                    d = self.pick(donors)
                    self.cmd(ZJ, "issue", instrument=sym, to=d, qty=qty)
                    self.cmd(d, "transfer", instrument=sym, to=seller, qty=qty)
            if self.cash(buyer) < price * qty:
                self.cmd(OP, "deposit", account=buyer, amount="%s" % (ref.money(price * qty + 1000)))
            res = self.cmd(prop, "block_propose", id=self.nid("blk"), instrument=sym, side=side, counterparty=cp, qty=qty, price=str(price))
            if res.get("ok"):
                if self.chance(0.55):
                    self.cmd(cp, "block_accept", proposer=prop, id="blk%d" % self.oid)
                elif self.chance(0.7):
                    self.pending_accepts.append((cp, prop, self.oid))
        if self.chance(0.7):
            reg = self.pick([ZJ, ZJ, "HZ-EEB", "NB-EEB"])
            sym = self.pick(["ZJEA-2025", "ZJEA-2026", "ZJEA-2024"])
            qty = self.r.randint(2000, 30000)
            if self.held(reg, sym) < qty:
                self.cmd(reg, "issue", instrument=sym, to=reg, qty=qty)
            reserve = ref.floor_tick(self.ref_price(sym) * Decimal(str(self.r.uniform(0.85, 1.0))))
            aid = self.nid("auc")
            res = self.cmd(reg, "auction_open", id=aid, instrument=sym, qty=qty, reserve_price=str(reserve))
            if res.get("ok"):
                for _ in range(self.r.randint(2, 6)):
                    b = self.pick(live)
                    price = reserve + Decimal(self.r.randint(-3, 300)) / 100
                    bq = self.r.randint(1, qty)
                    if self.cash(b) < price * bq:
                        self.cmd(OP, "deposit", account=b, amount=ref.money(price * bq + 100))
                    self.cmd(b, "auction_bid", auction=aid, id=self.nid("bid"), price=str(price), qty=bq)
                if self.chance(0.4):
                    self.cmd(self.pick([OP, reg, reg, "NB-EEB" if reg != "NB-EEB" else "HZ-EEB"]), "auction_close", auction=aid)

    def a_accept(self):
        m = self.market
        if not self.pending_accepts or m.day is None:
            return self.a_burst()
        acc, prop, n = self.pending_accepts.pop(0)
        return self.cmd(acc, "block_accept", proposer=prop, id="blk%d" % n)

    def a_cancel(self):
        m = self.market
        resting = [o for s in sorted(m.book) for o in m.book[s]]
        if resting and self.chance(0.8):
            o = self.pick(resting)
            if self.chance(0.3):
                return self.cmd(OP, "cancel", account=o.acct, id=o.id)
            if self.chance(0.05):
                return self.cmd(OP, "cancel", id=o.id)
            if self.chance(0.05):
                return self.cmd(o.acct, "cancel", account=o.acct, id=o.id)
            if self.chance(0.05):
                return self.cmd(self.pick(self.traders()), "cancel", id=o.id)
            return self.cmd(o.acct, "cancel", id=o.id)
        return self.cmd(self.pick(self.traders()), "cancel", id="o%d" % self.r.randint(1, self.oid + 1))

    def a_block(self):
        m = self.market
        if m.day is None and self.chance(0.7):
            return self.a_open()
        if m.proposals and self.chance(0.5):
            (prop, bid), p = self.pick(sorted(m.proposals.items()))
            x = self.r.random()
            if x < 0.7:
                acc = p["cp"] if not self.chance(0.1) else self.pick(self.traders())
                return self.cmd(acc, "block_accept", proposer=prop, id=bid)
            if x < 0.9:
                return self.cmd(prop, "block_cancel", id=bid)
            return self.cmd(OP, "block_cancel", id=bid)
        actor = self.pick(self.traders())
        cp = self.pick(self.traders())
        if self.chance(0.05):
            cp = self.pick([actor, "HZ-EEB", "VER-A", "NOBODY"])
        sym = self.pick(["ZJEA-2025", "ZJEA-2025", "ZJEA-2024", "CCER"])
        side = self.pick(["buy", "sell"])
        if side == "sell" and self.held(actor, sym) < 100000 and self.chance(0.8):
            self.cmd(ZJ, "issue", instrument=sym if sym != "CCER" else "ZJEA-2025", to=actor, qty=self.r.randint(100000, 250000)) \
                if m.accounts[actor].role == "entity" else None
        if side == "buy" and self.cash(actor) < 10000000 and self.chance(0.8):
            self.cmd(OP, "deposit", account=actor, amount="12000000.00")
        qty = self.pick([100000, 100000, 99999, self.r.randint(100000, 200000)])
        price = self.price_near(sym, 0.36, 0.02)
        return self.cmd(actor, "block_propose", id=self.nid("blk"), instrument=sym, side=side, counterparty=cp, qty=qty, price=price)

    def a_auction(self):
        m = self.market
        if m.day is None and self.chance(0.7):
            return self.a_open()
        open_aucs = [a for a in m.auction_order if m.auctions[a]["open"]]
        x = self.r.random()
        if open_aucs and x < 0.75:
            auc = m.auctions[self.pick(open_aucs)]
            if x < 0.62:
                actor = self.pick(self.traders())
                price = "%.2f" % (float(auc["reserve"]) * self.r.uniform(0.97, 1.15))
                qty = self.r.randint(1, max(1, auc["qty"] // 2))
                if self.chance(0.05):
                    qty = auc["qty"] + 1
                if self.cash(actor) < Decimal(price) * qty and self.chance(0.6):
                    self.cmd(OP, "deposit", account=actor, amount="%d.00" % (int(float(price) * qty) + 1000))
                return self.cmd(actor, "auction_bid", auction=auc["id"], id=self.nid("bid"), price=price, qty=qty)
            closer = self.pick([OP, auc["reg"], auc["reg"], "HZ-EEB", self.pick(self.traders())])
            return self.cmd(closer, "auction_close", auction=auc["id"])
        if x < 0.85 and m.auction_order:
            return self.cmd(self.pick(self.traders()), "auction_bid", auction=self.pick(m.auction_order + ["nope"]),
                            id=self.nid("bid"), price="60.00", qty=10)
        reg = self.pick([ZJ, ZJ, "HZ-EEB"])
        sym = self.pick(["ZJEA-2025", "ZJEA-2026", "ZJEA-2024"])
        qty = self.r.randint(2000, 40000)
        if self.held(reg, sym) < qty and self.chance(0.85):
            if reg == ZJ or sym != "CCER":
                self.cmd(reg, "issue", instrument=sym, to=reg, qty=qty + self.r.randint(0, 5000))
        reserve = "%.2f" % (float(self.ref_price(sym)) * self.r.uniform(0.85, 1.0))
        if self.chance(0.05):
            reserve = "0.005"
        return self.cmd(reg, "auction_open", id=self.nid("auc"), instrument=sym, qty=qty, reserve_price=reserve)

    def a_registry(self):
        m = self.market
        x = self.r.random()
        tr = self.traders()
        if x < 0.12:
            a = self.pick(tr + ["NOBODY", "VER-A", ZJ, OP])
            amt = self.pick(["%d.%02d" % (self.r.randint(1, 50000), self.r.randint(0, 99)), "0", "-1.00", "1.005", "12.3"])
            return self.cmd(self.pick([OP, OP, OP, ZJ]), self.pick(["deposit", "withdraw"]), account=a, amount=amt)
        if x < 0.27:
            reg = self.pick([r for r, j in REGS])
            sym = self.pick(self.instruments() + ["ZJEA-2099"])
            to = self.pick(self.entities() + [reg, "NOBODY"] + self.accounts("investor"))
            return self.cmd(reg, "issue", instrument=sym, to=to, qty=self.pick([self.r.randint(1, 20000), 0, -3]))
        if x < 0.5:
            a = self.pick(tr + [ZJ, "VER-A"])
            sym = self.pick(self.instruments())
            h = self.held(a, sym)
            qty = self.r.randint(1, max(1, h)) if h and self.chance(0.8) else self.r.randint(1, 100000)
            to = self.pick(tr + [ZJ, "VER-A", "NOBODY", a])
            return self.cmd(a, "transfer", instrument=sym, to=to, qty=qty)
        if x < 0.6:
            a = self.pick(tr + [ZJ])
            sym = self.pick(self.instruments())
            h = self.held(a, sym)
            qty = self.r.randint(1, max(1, h // 3)) if h else 10
            kw = dict(instrument=sym, qty=qty, beneficiary="voluntary %d" % self.r.randint(1, 99))
            if self.chance(0.05):
                del kw["beneficiary"]
            return self.cmd(a, "retire", **kw)
        if x < 0.8:
            target = self.pick(tr + ["VER-A", "HZ-EEB", "NOBODY"])
            t = m.accounts.get(target)
            reg = self.pick([ZJ] + ([REG_OF.get(t.jur, ZJ)] if t is not None and t.jur in REG_OF else []) + ["NB-EEB", OP])
            return self.cmd(reg, self.pick(["freeze", "freeze", "unfreeze", "unfreeze", "unfreeze"]), account=target)
        if x < 0.9:
            jur = self.pick(["HZ", "NB", "SX", "XX"])
            reg = self.pick([ZJ, REG_OF.get(jur, ZJ), "HZ-EEB", OP])
            role = self.pick(["entity", "entity", "investor", "verifier", "regulator", "bank"])
            nid = self.pick(["%s-N%d" % (jur, self.r.randint(0, 40)), "bad id!", self.pick(tr)])
            return self.cmd(reg, "create_account", id=nid, role=role, jurisdiction=self.pick([None, jur]))
        return self.garbage()

    def garbage(self):
        x = self.r.randint(0, 9)
        tr = self.traders()
        if x == 0:
            return self.emit(raw='{"as": "%s", "cmd": "deposit", "account": ' % OP)
        if x == 1:
            return self.cmd(OP, "deposit", account=self.pick(tr), amount=100.5)
        if x == 2:
            return self.cmd(OP, "teleport", account=self.pick(tr))
        if x == 3:
            return self.emit({"cmd": "genesis", "operator": OP, "regulators": []})
        if x == 4:
            return self.cmd("GHOST", "transfer", instrument="ZJEA-2025", to=self.pick(tr), qty=1)
        if x == 5:
            return self.cmd(self.pick(tr), "transfer", instrument="ZJEA-2025", to=self.pick(tr))
        if x == 6:
            return self.emit(raw="[1, 2, 3]")
        if x == 7:
            return self.cmd(self.pick(tr), "order", id="x y", instrument="ZJEA-2025", side="buy", type="limit", tif="day", price="58.00", qty=1)
        if x == 8:
            return self.cmd(self.pick(tr), "order", id=self.nid("o"), instrument="ZJEA-2025", side="hold", type="limit", tif="day", price="58.00", qty=1)
        return self.cmd(self.pick(tr), "order", id=self.nid("o"), instrument="ZJEA-2025", side="buy", type="limit", tif="day", price="5.8e1", qty=1)

    # -- long decimals (the `precision` kind)
    @staticmethod
    def dec28(v, up=False):
        """`v` (>= 0, below 10^27) as a decimal of at most 28 significant digits
        and 28 places, truncated (or rounded up), never with an exponent."""
        v = Fraction(v)
        with localcontext() as c:
            c.prec = 90
            d = Decimal(v.numerator) / Decimal(v.denominator)
            places = 28 if d == 0 else min(28, 27 - d.adjusted())
            d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_UP if up else ROUND_DOWN)
        return format(d, "f")

    def random_long(self, lo_exp=-3, hi_exp=9):
        """A random decimal of 20 to 28 significant digits, about 10^lo_exp to 10^hi_exp."""
        e = self.r.randint(lo_exp, hi_exp)
        digits = self.r.randint(20, 28)
        return self.dec28(Fraction(self.r.randint(10 ** (digits - 1), 10 ** digits - 1), 10 ** (digits - 1)) * Fraction(10) ** e)

    def near_half(self, rest, per_unit, mult, lo, hi):
        """A value `x` of 28 digits with `(rest + x * per_unit) * mult` just off `n + 1/2`
        for a random `n` above `(rest * mult)` in [lo, hi): truncated (just under the
        half) or rounded up (just over it). `None` when `per_unit * mult` is 0."""
        if per_unit * mult == 0:
            return None
        base = int(rest * mult)
        n = base + self.r.randint(lo, hi)
        x = (Fraction(2 * n + 1, 2) / mult - rest) / per_unit
        if x < 0 or x >= 10 ** 26:
            return None
        return self.dec28(x, up=self.chance(0.5))

    @staticmethod
    def load_factor_ff(fuel, lf):
        """Ff as the model computes it (RULEBOOK 9.1, 13.3)."""
        lf = Decimal(lf)
        if fuel == "coal" and lf < Decimal("0.65"):
            return Fraction(ref.rnd(Decimal(repr(1.015 ** float(Decimal(16) - 20 * lf))), 6))
        return Fraction(1)

    def long_units(self, us, phase):
        """Long decimals in the units of an allocation; mostly with A (or 70% of it
        for a pre-allocation) just off a half."""
        for u in us:
            for k in ("power_benchmark", "heat_benchmark"):
                if self.chance(0.3):
                    u[k] = self.random_long(-2, 0)
            for k in ("power_mwh", "heat_gj"):
                if self.chance(0.3):
                    u[k] = self.random_long(0, 6)
        if self.chance(0.8) and us[0]["fuel"] in ("coal", "gas") and Decimal(us[0]["load_factor"]) <= 1:
            rest = sum((Fraction(u["power_mwh"]) * Fraction(u["power_benchmark"]) * self.load_factor_ff(u["fuel"], u["load_factor"])
                        + Fraction(u["heat_gj"]) * Fraction(u["heat_benchmark"]) for u in us[1:]), Fraction(0))
            rest += Fraction(us[0]["heat_gj"]) * Fraction(us[0]["heat_benchmark"])
            per = Fraction(us[0]["power_benchmark"]) * self.load_factor_ff(us[0]["fuel"], us[0]["load_factor"])
            mult = Fraction(7, 10) if phase == "pre" else Fraction(1)
            x = self.near_half(rest, per, mult, *self.pick([(0, 3), (0, 1000), (1000, 10 ** 9)]))
            if x is not None:
                us[0]["power_mwh"] = x
        return us

    def long_grandfather(self):
        """`baseline` and a long `decline` with `baseline * (1 - decline)` mostly just off a half."""
        baseline = self.pick([self.r.randint(1, 1000), self.r.randint(50000, 400000), self.r.randint(10 ** 9, 10 ** 12)])
        if self.chance(0.2):
            return baseline, self.dec28(Fraction(self.r.randint(0, 10 ** 27), 10 ** 27))
        n = self.r.randint(0, baseline - 1)
        keep = Fraction(2 * n + 1, 2) / baseline  # 1 - decline
        return baseline, self.dec28(1 - keep, up=self.chance(0.5))

    def long_report(self, fsid, fuels):
        """Long decimals in a report's fuels and electricity; mostly with E and the
        indirect emissions just off a half."""
        fs = self.market.factor_sets.get(fsid)
        for fu in fuels:
            for k, lo, hi in (("ncv", 1, 2), ("carbon", -2, -1), ("oxidation", -1, -1), ("consumption", 2, 5)):
                if self.chance(0.3):
                    fu[k] = self.random_long(lo, hi)
        elec = self.random_long(0, 5)
        if fs is None or not fuels or any(fu["fuel"] not in fs["fuels"] for fu in fuels):
            return fuels, elec

        def factors(fu):
            dn, dc, do = fs["fuels"][fu["fuel"]]
            return Fraction(fu.get("ncv", dn)) * Fraction(fu.get("carbon", dc)) * Fraction(fu.get("oxidation", do))

        if self.chance(0.8):
            rest = sum((Fraction(fu["consumption"]) * factors(fu) for fu in fuels[1:]), Fraction(0))
            x = self.near_half(rest, factors(fuels[0]), Fraction(44, 12), *self.pick([(0, 3), (0, 1000), (1000, 10 ** 8)]))
            if x is not None:
                fuels[0]["consumption"] = x
        if self.chance(0.7):
            x = self.near_half(Fraction(0), Fraction(fs["grid"]), Fraction(1), *self.pick([(0, 3), (0, 100000)]))
            if x is not None:
                elec = x
        return fuels, elec

    # -- compliance
    def units(self, coal):
        us = []
        for _ in range(self.r.randint(1, 2)):
            fuel = "coal" if coal else self.pick(["coal", "gas"])
            lf = "%.4f" % self.r.uniform(0.45, 0.85)
            if fuel == "coal":
                us.append({"fuel": "coal", "power_mwh": str(self.r.randint(100000, 900000)), "heat_gj": str(self.r.randint(0, 300000)),
                           "power_benchmark": "0.7910", "heat_benchmark": "0.1033", "load_factor": lf})
            else:
                us.append({"fuel": "gas", "power_mwh": str(self.r.randint(100000, 900000)), "heat_gj": str(self.r.randint(0, 300000)),
                           "power_benchmark": "0.3288", "heat_benchmark": "0.0533", "load_factor": lf})
        if self.chance(0.03):
            us[0]["load_factor"] = "1.2"
        if self.chance(0.03):
            us[0]["fuel"] = "oil"
        return us

    def a_compliance(self):
        m = self.market
        year = self.pick([2025, 2025, 2025, 2024, 2026])
        ents = self.entities()
        e = self.pick(ents)
        ea = m.accounts[e]
        reg = REG_OF.get(ea.jur, ZJ) if not self.chance(0.15) else self.pick([ZJ, "HZ-EEB", "NB-EEB"])
        rep = m.reports.get((e, year))
        x = self.r.random()
        if self.long_decimals and x >= 0.65 and self.chance(0.8):
            x = self.r.random() * 0.65  # fewer surrenders and year closes, more figures
        if x < 0.15:
            phase = "final" if (rep and rep["status"] == "confirmed" and self.chance(0.7)) else self.pick(["pre", "pre", "final"])
            units = self.units(self.chance(0.5))
            if self.long_decimals and self.chance(0.7):
                units = self.long_units(units, phase)
            return self.cmd(reg, "allocate_benchmark", entity=e, year=year, phase=phase, units=units)
        if x < 0.2:
            if self.long_decimals and self.chance(0.7):
                baseline, decline = self.long_grandfather()
                return self.cmd(reg, "allocate_grandfather", entity=e, year=year, baseline=baseline, decline=decline)
            return self.cmd(reg, "allocate_grandfather", entity=e, year=year, baseline=self.r.randint(50000, 400000),
                            decline=self.pick(["0.02", "0.0373", "0", "1.5"]))
        if x < 0.35:
            fuels = []
            for _ in range(self.r.randint(0, 3)):
                names = ["coal", "coal", "gas", "oil"] if not self.long_decimals else ["coal", "coal", "gas"] * 6 + ["oil"]
                fu = {"fuel": self.pick(names), "consumption": "%.3f" % self.r.uniform(1000, 60000)}
                if self.chance(0.3):
                    fu["ncv"] = "%.3f" % self.r.uniform(19, 22) if fu["fuel"] == "coal" else "%.2f" % self.r.uniform(380, 395)
                if self.chance(0.2):
                    fu["carbon"] = "0.02779"
                fuels.append(fu)
            actor = e if not self.chance(0.05) else self.pick(self.accounts("investor"))
            fsid = self.pick(["FS-2025"] * (9 if not self.long_decimals else 30) + ["FS-X"])
            elec = str(self.r.randint(0, 80000))
            if self.long_decimals and self.chance(0.7):
                fuels, elec = self.long_report(fsid, fuels)
            return self.cmd(actor, "submit_report", year=year, factor_set=fsid, fuels=fuels,
                            electricity_mwh=elec, power_mwh="0", heat_gj="0")
        if x < 0.5:
            ve = None
            if rep and self.chance(0.3):
                ve = max(0, rep["direct"] + self.r.randint(-2000, 5000))
            actor = self.pick(["VER-A", "VER-B"]) if not self.chance(0.05) else e
            return self.cmd(actor, "verify_report", entity=e, year=year, verified_emissions=ve)
        if x < 0.65:
            return self.cmd(reg, "confirm_report" if self.chance(0.8) else "return_report", entity=e, year=year)
        if x < 0.9:
            sym = self.pick(["ZJEA-2025", "ZJEA-2025", "ZJEA-2024", "CCER", "ZJEA-2026"])
            qty = self.r.randint(1, 50000)
            if rep and rep["status"] == "confirmed":
                ob = rep["obligation"]
                done = m.surrendered.get((e, year), [0, 0])
                if sym == "CCER":
                    lim = ob * 5 // 100 - done[1]
                    qty = max(1, lim + self.pick([0, 0, 1, -10]))
                    if self.held(e, "CCER") < qty:
                        self.cmd(ZJ, "issue", instrument="CCER", to=e, qty=qty)
                else:
                    rest = ob - done[0]
                    qty = max(1, self.pick([rest, rest + 1, rest // 2, rest // 3 + 1]))
                    if self.held(e, sym) < qty and self.chance(0.7):
                        self.cmd(ZJ, "issue", instrument=sym, to=e, qty=qty)
            return self.cmd(e, "surrender", year=year, instrument=sym, qty=qty)
        if len(self.out) < 0.7 * self.target and self.chance(0.9):
            return self.cmd(self.pick(["HZ-EEB", ZJ]), "close_year", year=2024)
        if self.chance(0.6) and year not in m.closed_years:
            return self.cmd(self.pick([ZJ, ZJ, ZJ, "HZ-EEB"]), "close_year", year=year)
        return self.cmd(ZJ, "close_year", year=self.pick([2025, 2024, 2030]))

    def run(self):
        self.setup()
        if self.kind in ("supervision", "energy"):
            self.setup_v3()
        w = {
            "registry": [("a_registry", 70), ("a_open", 8), ("a_order", 7), ("a_compliance", 0), ("a_block", 3), ("a_auction", 3), ("a_cancel", 2), ("garbage", 7)],
            "exchange": [("a_burst", 30), ("a_order", 35), ("a_accept", 6), ("a_cancel", 6), ("a_open", 6), ("a_block", 5), ("a_auction", 6), ("a_registry", 5), ("garbage", 1)],
            "compliance": [("a_compliance", 55), ("a_order", 20), ("a_open", 6), ("a_registry", 8), ("a_cancel", 4), ("a_auction", 4), ("garbage", 3)],
            "precision": [("a_compliance", 70), ("a_order", 10), ("a_open", 5), ("a_registry", 5), ("a_cancel", 3), ("a_auction", 3), ("garbage", 2)],
            "supervision": [("a_burst", 8), ("a_order", 10), ("a_accept", 3), ("a_cancel", 4), ("a_open", 5), ("a_block", 3),
                            ("a_auction", 3), ("a_registry", 3), ("a_limits", 5), ("a_limit_edge", 10), ("a_halt", 4),
                            ("a_halt_scene", 4), ("a_group", 7), ("a_related", 6), ("a_spoof", 4), ("a_scripted", 4),
                            ("a_compliance", 4), ("a_quota_scene", 1), ("garbage", 1)],
            "energy": [("a_burst", 5), ("a_energy_burst", 10), ("a_order", 8), ("a_accept", 3), ("a_cancel", 3), ("a_open", 5),
                       ("a_block", 2), ("a_energy_block", 4), ("a_energy_auction", 4), ("a_compliance", 7),
                       ("a_energy_report", 8), ("a_energy_verify", 7), ("a_energy_confirm", 6), ("a_energy_surrender", 8),
                       ("a_energy_pipeline", 8),
                       ("a_energy_close", 3), ("a_energy_registry", 4), ("a_limits", 1), ("a_halt", 1), ("a_scripted", 1),
                       ("garbage", 1)],
            "mixed": [("a_burst", 15), ("a_order", 22), ("a_accept", 4), ("a_compliance", 20), ("a_registry", 12), ("a_open", 6), ("a_cancel", 5), ("a_block", 5), ("a_auction", 5), ("garbage", 2)],
        }[self.kind]
        names = [n for n, _ in w]
        weights = [x for _, x in w]
        while len(self.out) < self.target:
            if self.kind in ("exchange", "mixed", "supervision", "energy") and self.market.day is not None \
                    and len(self.out) - self.day_start > self.day_len:
                if self.pending_accepts and self.chance(0.5):
                    self.a_accept()
                self.cmd(OP, "close_day")
                continue
            getattr(self, self.r.choices(names, weights)[0])()
        if self.market.day is not None:
            self.cmd(OP, "close_day")
        return "\n".join(self.out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--kind", choices=["registry", "exchange", "compliance", "mixed", "supervision", "energy", "precision"],
                    default="mixed")
    ap.add_argument("--lines", type=int, default=400)
    a = ap.parse_args()
    sys.stdout.write(Gen(a.seed, a.kind, a.lines).run())


if __name__ == "__main__":
    main()
