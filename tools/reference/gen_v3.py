"""RULEBOOK v3 actions for gen_day.py: market supervision (section 14) and
energy-use rights (section 15).

Two day kinds use them:

- `supervision`: position limits set low enough to bind, and buying steered
  to land exactly on the limit or one past it (orders, market orders, buy
  proposals, acceptances of sell proposals, auction bids); halts and resumes
  (wrong actors, unknown instruments, wrong JSON types, halted books with
  resting orders, proposals and auctions); groups with every fault of 14.3
  and trades between members (listed, several fills, block); cancel-ratio
  patterns steered by the model to exact boundaries (placed 9/10/11/15,
  cancelled exactly 80% and one less); scripted days that put the listed
  volume at 999/1000/1001 with buyers and sellers at exactly half and one
  more, closes at exactly 5% from the reference (single trades, and VWAPs
  that round onto the boundary), and large holders at their threshold, one
  above and one below.
- `energy`: ZJEU-<year> defined (or not, and badly), issued, transferred,
  traded listed, block and auction, surrendered against the energy
  obligation at its boundaries; energy lines in reports (every carrier,
  unknown and repeated carriers, numbers instead of strings, exact .5 sums
  and their neighbours, `energy` null, empty, of the wrong type);
  `verified_energy` given, absent, 0, negative, 10^12 and above, of the wrong
  type; returns that drop the verified figures; close_year with A/B/C rows
  and energy penalties with ZJEU-<year> defined or not.

The generator runs the reference model alongside and reads its state
(exposure, limits, stats of the day) to aim at the boundaries.
"""
from decimal import Decimal

import carbon_ref as ref

OP = "ZJ-CEEX"
ZJ = "ZJ-DEE"
REGULATORS = [ZJ, "HZ-EEB", "NB-EEB", "SX-EEB"]
MAXQ = 10 ** 12

CARRIERS = list(ref.ENERGY_COEF)
# (carrier, qty) lines whose product is exactly n + 0.5 tce
HALF_LINES = [("heat", "12500"), ("electricity", "5000"), ("coal", "5000"), ("natural_gas", "500"),
              ("lpg", "5000"), ("diesel", "5000"), ("heat", "37500"), ("electricity", "15000")]
# (carrier, qty) lines whose product is a whole number of tce
WHOLE_LINES = [("coal", "10000"), ("coke", "5000"), ("crude_oil", "5000"), ("fuel_oil", "10000"),
               ("gasoline", "5000"), ("natural_gas", "1000"), ("electricity", "10000"), ("heat", "25000")]


class V3Mixin:
    # ------------------------------------------------------------ helpers
    def acct(self, aid):
        return self.market.accounts.get(aid)

    def investors(self):
        return self.accounts("investor")

    def day_open(self):
        return self.market.day is not None

    def ensure_cash(self, a, amount):
        amount = Decimal(amount)
        if self.cash(a) < amount:
            self.cmd(OP, "deposit", account=a, amount=ref.money(amount - self.cash(a) + self.r.randint(1, 5000)))

    def ensure_holdings(self, a, sym, qty):
        have = self.held(a, sym)
        if have >= qty:
            return True
        short = qty - have
        acc = self.acct(a)
        if acc is None:
            return False
        if acc.role == "entity":
            self.cmd(ZJ, "issue", instrument=sym, to=a, qty=short)
        else:
            self.cmd(ZJ, "issue", instrument=sym, to=ZJ, qty=short)
            self.cmd(ZJ, "transfer", instrument=sym, to=a, qty=short)
        return self.held(a, sym) >= qty

    def room(self, a):
        acc = self.acct(a)
        return self.market.limit(acc) - self.market.exposure(acc)

    def set_room(self, a, room):
        """set_position_limits so that `a` can buy exactly `room` more ZJEA."""
        m = self.market
        acc = self.acct(a)
        x = m.exposure(acc) + room
        ee, inv = m.limits["entity_extra"], m.limits["investor"]
        if acc.role == "entity":
            ee = x - m.quota(acc)
        else:
            inv = x
        if not (0 <= ee <= MAXQ and 0 <= inv <= MAXQ):
            return False
        self.cmd(OP, "set_position_limits", entity_extra=ee, investor=inv)
        return self.room(a) == room

    def unhalt(self, sym):
        if sym in self.market.halted:
            self.cmd(self.pick([OP, ZJ]), "resume", instrument=sym)

    def open_fresh_day(self):
        if self.day_open():
            self.cmd(OP, "close_day")
        res = self.cmd(OP, "open_day", date=self.next_date())
        if res.get("ok"):
            self.pending_accepts = []
            self.day_start = len(self.out)
            self.day_len = self.r.randint(50, 160)
        return res.get("ok")

    def energy_syms(self):
        return [s for s in self.instruments() if s.startswith("ZJEU-")]

    def allowance_syms(self):
        return [s for s in self.instruments() if s.startswith("ZJEA-")]

    # ------------------------------------------------------------ setup
    def setup_v3(self):
        m = self.market
        if self.kind == "energy":
            self.cmd(OP, "define_instrument", symbol="ZJEU-2025", reference_price="120.00")
            if self.chance(0.7):
                self.cmd(OP, "define_instrument", symbol="ZJEU-2024", reference_price="104.50")
            if self.chance(0.5):
                self.cmd(OP, "define_instrument", symbol="ZJEU-2026", reference_price="133.33")
            for bad, price in [("ZJEU-25", "100.00"), ("zjeu-2025", "100.00"), ("ZJEU-2025", "1.00"),
                               ("ZJEU-2027", "0"), ("ZJEU-2027", "1.005"), ("ZJEU_2027", "1.00"), ("ZJEU-20271", "5.00")]:
                if self.chance(0.3):
                    self.cmd(OP, "define_instrument", symbol=bad, reference_price=price)
            if self.chance(0.2):
                self.cmd(ZJ, "define_instrument", symbol="ZJEU-2028", reference_price="100.00")
            for e in self.entities():
                for s in self.energy_syms():
                    if self.chance(0.6):
                        reg = ZJ if self.chance(0.5) else {"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}[m.accounts[e].jur]
                        self.cmd(reg, "issue", instrument=s, to=e, qty=self.r.randint(500, 40000))
            for s in self.energy_syms():
                self.cmd(ZJ, "issue", instrument=s, to=ZJ, qty=self.r.randint(50000, 200000))
                for i in self.investors():
                    if self.chance(0.6):
                        self.cmd(ZJ, "transfer", instrument=s, to=i, qty=self.r.randint(500, 20000))
        else:
            self.cmd(OP, "define_instrument", symbol="ZJEU-2025", reference_price="98.70")
            for i in range(self.r.randint(1, 3)):
                self.cmd(ZJ, "create_account", id="INV-S%02d" % i, role="investor",
                         jurisdiction=self.pick(["HZ", "NB", "SX"]))
                self.cmd(OP, "deposit", account="INV-S%02d" % i, amount="%d.00" % self.r.randint(100000, 9000000))
            for e in self.entities():
                self.cmd(ZJ, "issue", instrument="ZJEU-2025", to=e, qty=self.r.randint(100, 5000))
        # allocations give entities a quota (14.1); the highest year's counts (14.5.1)
        for e in self.entities():
            jur = m.accounts[e].jur
            reg = {"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}.get(jur, ZJ)
            for year, p in ((2025, 0.6), (2026, 0.3), (2024, 0.25)):
                if self.chance(p):
                    self.cmd(self.pick([reg, ZJ]), "allocate_grandfather", entity=e, year=year,
                             baseline=self.r.randint(5000, 300000), decline=self.pick(["0", "0.02", "0.0373", "0.5"]))
        for a in self.traders():
            if self.chance(0.5):
                self.cmd(OP, "deposit", account=a, amount="%d.00" % self.r.randint(1000000, 20000000))
        if self.kind == "supervision":
            if self.chance(0.7):
                self.cmd(OP, "set_position_limits", entity_extra=self.r.randint(20000, 300000) | self.r.randint(0, 1),
                         investor=self.r.randint(20000, 200000) | self.r.randint(0, 1))
            for _ in range(self.r.randint(1, 2)):
                self.group_valid()
        else:
            if self.chance(0.4):
                self.cmd(OP, "set_position_limits", entity_extra=self.pick([0, 50000, 1000000]),
                         investor=self.pick([0, 30000, 1000000]))

    # ------------------------------------------------------- 14.1 limits
    def a_limits(self):
        x = self.r.random()
        ee = self.pick([0, 1, 1000000, MAXQ, self.r.randint(1000, 500000), self.r.randint(1000, 500000) | 1])
        inv = self.pick([0, 1, 1000000, MAXQ, self.r.randint(1000, 300000), self.r.randint(1000, 300000) | 1])
        if x < 0.5:
            return self.cmd(OP, "set_position_limits", entity_extra=ee, investor=inv)
        if x < 0.65:
            bad = self.pick([-1, MAXQ + 1, -10 ** 20, 10 ** 20])
            if self.chance(0.5):
                return self.cmd(OP, "set_position_limits", entity_extra=bad, investor=inv)
            return self.cmd(OP, "set_position_limits", entity_extra=ee, investor=bad)
        if x < 0.8:
            wrong = self.pick(["5000", 5000.0, True, [5000], {"t": 1}, 1e3])
            actor = self.pick([OP, OP, ZJ, "GHOST"])
            if self.chance(0.5):
                return self.cmd(actor, "set_position_limits", entity_extra=wrong, investor=inv)
            return self.cmd(actor, "set_position_limits", entity_extra=ee, investor=wrong)
        if x < 0.88:
            d = {"as": OP, "cmd": "set_position_limits", "entity_extra": ee}
            if self.chance(0.5):
                d["investor"] = None
            return self.emit(d)
        actor = self.pick([ZJ, "HZ-EEB", "GHOST", "VER-A"] + self.traders())
        return self.cmd(actor, "set_position_limits", entity_extra=self.pick([ee, -1, MAXQ + 1]), investor=inv)

    def a_limit_edge(self):
        """A buying command that lands exactly on the position limit, or one past it."""
        m = self.market
        if not self.day_open():
            return self.a_open()
        live = self.live_traders()
        if len(live) < 2:
            return None
        a = self.pick(live)
        sym = self.pick(["ZJEA-2025"] * 5 + ["ZJEA-2024", "ZJEA-2026", "ZJEU-2025", "CCER"])
        if sym not in m.instruments:
            return None
        if self.chance(0.8):
            self.unhalt(sym)
        over = self.pick([0, 0, 1, 1, 2])  # qty - room
        mode = self.pick(["order", "order", "order", "market", "block", "accept", "accept", "bid", "sell_then_buy"])
        lo, hi = self.band(sym)
        if mode in ("order", "market"):
            qty = self.pick([1, self.r.randint(1, 3000), self.r.randint(1, 99999), 99999])
            if not self.set_room(a, qty - over) and self.room(a) < 0:
                qty = 1
            typ = "market" if mode == "market" else "limit"
            tif = self.pick(["ioc", "fok"]) if typ == "market" else self.pick(["day", "day", "ioc", "fok"])
            price = None if typ == "market" else str(self.pick([lo, lo + Decimal("0.01"), self.ref_price(sym), hi]))
            worst = hi if typ == "market" else Decimal(price)
            if self.chance(0.85):
                self.ensure_cash(a, worst * qty)
            return self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type=typ, tif=tif, price=price, qty=qty)
        if mode == "block":
            cp = self.pick([x for x in live if x != a])
            qty = self.pick([100000, self.r.randint(100000, 160000)])
            self.set_room(a, qty - over)
            price = self.pick([ref.ceil_tick(self.ref_price(sym) * Decimal("0.70")), self.ref_price(sym)])
            if self.chance(0.9):
                self.ensure_cash(a, price * qty)
            res = self.cmd(a, "block_propose", id=self.nid("blk"), instrument=sym, side="buy", counterparty=cp,
                           qty=qty, price=str(price))
            if res.get("ok") and self.chance(0.6):
                # accepting a buy proposal is not checked again (14.1), even with the limits at 0
                if self.chance(0.5):
                    self.cmd(OP, "set_position_limits", entity_extra=0, investor=0)
                self.ensure_holdings(cp, sym, qty)
                self.cmd(cp, "block_accept", proposer=a, id="blk%d" % self.oid)
            return None
        if mode == "accept":
            s = self.pick([x for x in live if x != a])
            qty = self.pick([100000, self.r.randint(100000, 160000)])
            price = self.pick([self.ref_price(sym), ref.floor_tick(self.ref_price(sym) * Decimal("1.30"))])
            self.ensure_holdings(s, sym, qty)
            res = self.cmd(s, "block_propose", id=self.nid("blk"), instrument=sym, side="sell", counterparty=a,
                           qty=qty, price=str(price))
            if not res.get("ok"):
                return None
            pid = "blk%d" % self.oid
            self.set_room(a, qty - over)
            if self.chance(0.85):
                self.ensure_cash(a, price * qty)
            return self.cmd(a, "block_accept", proposer=s, id=pid)
        if mode == "bid":
            aucs = [x for x in m.auction_order if m.auctions[x]["open"] and m.auctions[x]["sym"] == sym]
            if aucs:
                auc = m.auctions[self.pick(aucs)]
            else:
                qty = self.r.randint(5000, 60000)
                self.cmd(ZJ, "issue", instrument=sym, to=ZJ, qty=qty)
                aid = self.nid("auc")
                res = self.cmd(ZJ, "auction_open", id=aid, instrument=sym, qty=qty,
                               reserve_price=str(ref.floor_tick(self.ref_price(sym) * Decimal("0.9"))))
                if not res.get("ok"):
                    return None
                auc = m.auctions[aid]
            qty = self.r.randint(1, auc["qty"])
            self.set_room(a, qty - over)
            price = auc["reserve"] + Decimal(self.r.randint(0, 200)) / 100
            if self.chance(0.85):
                self.ensure_cash(a, price * qty)
            return self.cmd(a, "auction_bid", auction=auc["id"], id=self.nid("bid"), price=str(price), qty=qty)
        # registry operations pass the limit; then even one tonne is refused
        self.set_room(a, self.r.randint(0, 50))
        n = self.room(a) + self.r.randint(1, 500)
        if self.acct(a).role == "entity":
            self.cmd(self.pick([ZJ]), "issue", instrument="ZJEA-2025", to=a, qty=n)
        else:
            self.cmd(ZJ, "issue", instrument="ZJEA-2025", to=ZJ, qty=n)
            self.cmd(ZJ, "transfer", instrument="ZJEA-2025", to=a, qty=n)
        self.ensure_cash(a, hi * 10)
        self.cmd(a, "order", id=self.nid("o"), instrument="ZJEA-2025", side="buy", type="limit", tif="day",
                 price=str(lo), qty=1)
        if self.held(a, "ZJEA-2025") > 0 and self.chance(0.7):
            self.cmd(a, "order", id=self.nid("o"), instrument="ZJEA-2025", side="sell", type="limit", tif="day",
                     price=str(hi), qty=min(self.held(a, "ZJEA-2025"), 99999))
        return None

    # --------------------------------------------------------- 14.2 halts
    def a_halt(self):
        actor = self.pick([OP] * 4 + [ZJ] * 4 + ["HZ-EEB", "NB-EEB", "VER-A", "GHOST"] + self.traders()[:2])
        name = self.pick(["halt", "halt", "resume"])
        x = self.r.random()
        if x < 0.75:
            sym = self.pick(self.instruments())
        elif x < 0.9:
            sym = self.pick(["ZJEA-2099", "ZJEU-2031", "FOO", "zjea-2025", ""])
        else:
            sym = self.pick([2025, ["ZJEA-2025"], True, None])
            if sym is None:
                return self.emit({"as": actor, "cmd": name})
        return self.cmd(actor, name, instrument=sym)

    def a_halt_scene(self):
        """A halted book with resting orders and proposals, and what may and may not happen on it."""
        m = self.market
        if not self.day_open():
            if self.chance(0.5):
                return self.a_halt()
            return self.a_open()
        live = self.live_traders()
        if len(live) < 3:
            return None
        sym = self.pick(["ZJEA-2025", "ZJEA-2025", "ZJEU-2025", "ZJEA-2024", "CCER"])
        if sym not in m.instruments:
            return None
        self.unhalt(sym)
        lo, hi = self.band(sym)
        rest = []
        for _ in range(self.r.randint(1, 3)):
            a = self.pick(live)
            if self.chance(0.5) and self.ensure_holdings(a, sym, 50):
                res = self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day",
                               price=str(hi), qty=self.r.randint(1, 50))
            else:
                self.ensure_cash(a, lo * 100)
                res = self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day",
                               price=str(lo), qty=self.r.randint(1, 100))
            if res.get("ok") and res["order"]["status"] == "resting":
                rest.append((a, "o%d" % self.oid))
        prop = None
        if self.chance(0.6):
            s, b = self.r.sample(live, 2)
            self.ensure_holdings(s, sym, 100000)
            res = self.cmd(s, "block_propose", id=self.nid("blk"), instrument=sym, side="sell", counterparty=b,
                           qty=100000, price=str(self.ref_price(sym)))
            if res.get("ok"):
                prop = (s, b, "blk%d" % self.oid)
        self.cmd(self.pick([OP, ZJ]), "halt", instrument=sym)
        steps = ["order", "market", "sell", "badqty", "propose", "accept", "cancel", "opcancel", "bcancel",
                 "auction", "rehalt", "wrongresume", "frozen", "instrument_closed"]
        for step in self.r.sample(steps, self.r.randint(3, 8)):
            a = self.pick(live)
            if step == "order":
                self.ensure_cash(a, hi * 10)
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day", price=str(lo), qty=10)
            elif step == "market":
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="market", tif="ioc", qty=10)
            elif step == "sell":
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day", price=str(hi), qty=1)
            elif step == "badqty":
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day",
                         price="0.001", qty=self.pick([0, 100000]))
            elif step == "propose":
                cp = self.pick([x for x in live if x != a])
                self.cmd(a, "block_propose", id=self.nid("blk"), instrument=sym, side=self.pick(["buy", "sell"]),
                         counterparty=cp, qty=self.pick([100000, 5]), price=str(self.ref_price(sym)))
            elif step == "accept" and prop is not None:
                self.ensure_cash(prop[1], self.ref_price(sym) * 100000)
                self.cmd(prop[1], "block_accept", proposer=prop[0], id=prop[2])
            elif step == "cancel" and rest:
                o = rest.pop(0)
                self.cmd(o[0], "cancel", id=o[1])
            elif step == "opcancel" and rest:
                o = rest.pop(0)
                self.cmd(OP, "cancel", account=o[0], id=o[1])
            elif step == "bcancel" and prop is not None and self.chance(0.5):
                self.cmd(prop[0], "block_cancel", id=prop[2])
            elif step == "auction":
                reg = self.pick([ZJ, ZJ, "HZ-EEB"])
                q = self.r.randint(1000, 5000)
                self.cmd(ZJ if reg == ZJ else reg, "issue", instrument=sym, to=reg, qty=q) if sym != "CCER" or reg == ZJ else None
                aid = self.nid("auc")
                res = self.cmd(reg, "auction_open", id=aid, instrument=sym, qty=q, reserve_price=str(lo))
                if res.get("ok"):
                    self.ensure_cash(a, hi * q)
                    self.cmd(a, "auction_bid", auction=aid, id=self.nid("bid"), price=str(hi), qty=self.r.randint(1, q))
            elif step == "rehalt":
                self.cmd(self.pick([OP, ZJ]), "halt", instrument=sym)
            elif step == "wrongresume":
                self.cmd(self.pick(["HZ-EEB", "NB-EEB", a, "VER-B"]), "resume", instrument=sym)
            elif step == "frozen":
                t = self.acct(a)
                reg = {"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}.get(t.jur, ZJ)
                self.cmd(reg, "freeze", account=a)
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day", price=str(lo), qty=1)
                if self.chance(0.7):
                    self.cmd(reg, "unfreeze", account=a)
        if self.chance(0.4):
            self.cmd(OP, "close_day")
            if self.chance(0.5):
                self.cmd(self.pick(live), "order", id=self.nid("o"), instrument=sym, side="buy", type="limit",
                         tif="day", price=str(lo), qty=1)
        if self.chance(0.6):
            self.cmd(self.pick([OP, ZJ]), "resume", instrument=sym)
            if self.chance(0.3):
                self.cmd(self.pick([OP, ZJ]), "resume", instrument=sym)
        return None

    # ------------------------------------------------------- 14.3 groups
    def ungrouped(self, reg):
        m = self.market
        r = m.accounts[reg]
        return [a for a in self.traders() if a not in m.group_of and (r.jur == "ZJ" or m.accounts[a].jur == r.jur)]

    def group_valid(self, reg=None):
        m = self.market
        reg = reg or self.pick([ZJ, ZJ, "HZ-EEB", "NB-EEB", "SX-EEB"])
        pool = self.ungrouped(reg)
        if len(pool) < 2:
            return None
        k = self.r.randint(2, min(4, len(pool)))
        members = self.r.sample(pool, k)
        if reg == ZJ and self.chance(0.5):
            # across jurisdictions, when there are such
            jurs = {m.accounts[x].jur for x in pool}
            if len(jurs) > 1:
                j1, j2 = self.r.sample(sorted(jurs), 2)
                members = [self.pick([x for x in pool if m.accounts[x].jur == j1]),
                           self.pick([x for x in pool if m.accounts[x].jur == j2])]
        gid = "GRP%d" % (len(m.groups) + 1 + self.r.randint(0, 3) * 10)
        if gid in m.groups:
            gid = self.nid("GRP")
        if self.chance(0.15):
            gid = self.pick(members + [reg, self.pick(self.traders())])  # groups have their own namespace
        return self.cmd(reg, "declare_group", id=gid, members=members)

    def a_group(self):
        m = self.market
        x = self.r.random()
        tr = self.traders()
        reg = self.pick([ZJ, ZJ, "HZ-EEB", "NB-EEB", "SX-EEB"])
        gid = self.nid("G")
        if x < 0.3:
            if self.chance(0.2):
                t = self.pick(tr)
                j = m.accounts[t].jur
                self.cmd({"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}.get(j, ZJ), "freeze", account=t)
            return self.group_valid(reg)
        if x < 0.45:  # form
            members = self.pick([
                [], [self.pick(tr)], [self.pick(tr)] * 2, [self.pick(tr), 5], [self.pick(tr), None],
                [self.pick(tr), "bad id!"], ["X%02d" % i for i in range(51)], self.pick(tr), {"a": self.pick(tr)},
                [self.pick(tr), ["x"]], [self.pick(tr), ""],
            ])
            if self.chance(0.1):
                return self.emit({"as": reg, "cmd": "declare_group", "id": gid})
            if self.chance(0.1):
                gid = self.pick(["bad id", 7, "-x"])
            actor = self.pick([reg, reg, "GHOST", OP, self.pick(tr)])
            return self.cmd(actor, "declare_group", id=gid, members=members)
        if x < 0.55:  # actor
            pool = self.ungrouped(ZJ)
            members = self.r.sample(pool, 2) if len(pool) >= 2 else tr[:2]
            return self.cmd(self.pick([OP, "GHOST", "VER-A"] + tr), "declare_group", id=gid, members=members)
        if x < 0.75:  # members: unknown, other jurisdiction, wrong role; in list order
            pool = self.ungrouped(reg) or tr
            good = self.pick(pool)
            rj = m.accounts[reg].jur
            other = [a for a in tr if rj != "ZJ" and m.accounts[a].jur != rj]
            bads = ["GHOST", "VER-A", "VER-B", ZJ, OP, "HZ-EEB"] + other
            bad = self.pick(bads)
            members = [good, bad] if self.chance(0.5) else [bad, good]
            if self.chance(0.3):
                members.insert(self.r.randint(0, len(members)), self.pick(["NOBODY", "VER-B"] + other))
                if len(set(members)) != len(members):
                    members = list(dict.fromkeys(members))
            return self.cmd(reg, "declare_group", id=gid, members=members)
        if x < 0.85 and m.groups:  # DUPLICATE_ID (before GROUP_CONFLICT)
            g = self.pick(sorted(m.groups))
            pool = self.ungrouped(ZJ)
            if self.chance(0.5) or len(pool) < 2:
                members = [self.pick(m.groups[g]), self.pick([a for a in tr if a not in m.groups[g]])]
            else:
                members = self.r.sample(pool, 2)
            return self.cmd(ZJ, "declare_group", id=g, members=members)
        if m.group_of:  # GROUP_CONFLICT
            grouped = sorted(m.group_of)
            others = [a for a in tr if a not in grouped]
            a = self.pick(grouped)
            members = [a, self.pick(others)] if others and self.chance(0.6) else \
                [a, self.pick([b for b in grouped if b != a] or tr)]
            if len(set(members)) != len(members):
                members = tr[:2]
            if self.chance(0.5):
                members.reverse()
            return self.cmd(ZJ, "declare_group", id=gid, members=members)
        return self.group_valid(reg)

    def a_related(self):
        """Members of a group trading with each other: listed (several fills) and block."""
        m = self.market
        if not self.day_open():
            return self.a_open()
        groups = [g for g in sorted(m.groups) if sum(1 for a in m.groups[g] if not m.accounts[a].frozen) >= 2]
        if not groups:
            return self.group_valid()
        g = self.pick(groups)
        live = [a for a in m.groups[g] if not m.accounts[a].frozen]
        seller, buyer = self.r.sample(live, 2)
        sym = self.pick(["ZJEA-2025", "ZJEA-2025", "ZJEU-2025", "CCER", "ZJEA-2024"])
        if sym not in m.instruments:
            return None
        if self.chance(0.9):
            self.unhalt(sym)
        x = self.r.random()
        if x < 0.65:
            n = self.r.randint(1, 3)
            total = 0
            lo, hi = self.band(sym)
            p = self.ref_price(sym)
            for i in range(n):
                q = self.r.randint(1, 800)
                self.ensure_holdings(seller, sym, q)
                res = self.cmd(seller, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day",
                               price=str(min(hi, p + Decimal(i) / 100)), qty=q)
                if res.get("ok"):
                    total += q
            if self.chance(0.3):
                outsiders = [a for a in self.live_traders() if a not in m.groups[g]]
                if outsiders:
                    o = self.pick(outsiders)
                    self.ensure_holdings(o, sym, 100)
                    self.cmd(o, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day",
                             price=str(min(hi, p + Decimal(1) / 100)), qty=self.r.randint(1, 100))
                    total += 50
            total = max(1, min(99999, total + self.pick([0, 0, -1, 5])))
            price = str(min(hi, p + Decimal("0.05")))
            self.ensure_cash(buyer, Decimal(price) * total)
            if self.room(buyer) < total and sym.startswith("ZJEA-"):
                self.set_room(buyer, total + 1000)
            if self.chance(0.3):
                return self.cmd(buyer, "order", id=self.nid("o"), instrument=sym, side="buy", type="market",
                                tif=self.pick(["ioc", "fok"]), qty=total)
            return self.cmd(buyer, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit",
                            tif=self.pick(["day", "ioc", "fok"]), price=price, qty=total)
        qty = self.pick([100000, self.r.randint(100000, 130000)])
        price = self.ref_price(sym)
        self.ensure_holdings(seller, sym, qty)
        self.ensure_cash(buyer, price * qty)
        if sym.startswith("ZJEA-") and self.room(buyer) < qty:
            self.set_room(buyer, qty + self.r.randint(0, 10))
        if self.chance(0.5):
            res = self.cmd(seller, "block_propose", id=self.nid("blk"), instrument=sym, side="sell",
                           counterparty=buyer, qty=qty, price=str(price))
            if res.get("ok"):
                return self.cmd(buyer, "block_accept", proposer=seller, id="blk%d" % self.oid)
        else:
            res = self.cmd(buyer, "block_propose", id=self.nid("blk"), instrument=sym, side="buy",
                           counterparty=seller, qty=qty, price=str(price))
            if res.get("ok"):
                return self.cmd(seller, "block_accept", proposer=buyer, id="blk%d" % self.oid)
        return None

    # -------------------------------------------- 14.4 alerts at the boundaries
    def today(self, sym, key, aid):
        st = self.market.day["stats"].get(sym) if self.market.day else None
        return (st or {}).get(key, {}).get(aid, 0)

    def own_resting(self, a, sym):
        return [o for o in self.market.book.get(sym, []) if o.acct == a]

    def a_spoof(self, close=True):
        """Orders placed and cancelled on one instrument, aimed at the cancel-ratio boundary."""
        m = self.market
        if not self.day_open():
            return self.a_open()
        live = self.live_traders()
        if not live:
            return None
        a = self.pick(live)
        sym = self.pick([s for s in self.instruments() if s not in m.halted] or self.instruments())
        P, C = self.pick([(10, 8), (10, 7), (9, 8), (9, 9), (11, 9), (11, 8), (15, 12), (15, 11), (20, 16),
                          (10, 10), (12, 10), (12, 9)])
        p0, c0 = self.today(sym, "placed", a), self.today(sym, "cancelled", a)
        if P < p0 or C < c0:
            P, C = p0 + P, c0 + C
        lo, hi = self.band(sym)
        sell = self.held(a, sym) >= P and self.chance(0.5)
        self.ensure_cash(a, hi * 20)
        if not sell and sym.startswith("ZJEA-") and self.room(a) < 20:
            self.set_room(a, 50)
        tries = 0
        while self.today(sym, "placed", a) < P and tries < 2 * P + 4:
            tries += 1
            if self.chance(0.08):  # a rejected order is not placed
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day",
                         price=str(lo), qty=0)
                continue
            if self.chance(0.08):  # a fok that cannot fill is placed all the same
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="fok",
                         price=str(lo), qty=99999)
                continue
            if sell:
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day",
                         price=str(hi - Decimal(self.r.randint(0, 3)) / 100), qty=1)
            else:
                self.cmd(a, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day",
                         price=str(lo + Decimal(self.r.randint(0, 3)) / 100), qty=1)
        tries = 0
        while self.today(sym, "cancelled", a) < C and tries < 2 * C + 4:
            tries += 1
            own = self.own_resting(a, sym)
            if not own:
                break
            x = self.r.random()
            if x < 0.06:
                self.cmd(OP, "cancel", account=a, id=self.pick(own).id)  # the operator's do not count
            elif x < 0.12:
                self.cmd(a, "cancel", id="nope%d" % self.r.randint(1, 9))  # UNKNOWN_ORDER does not count
            else:
                self.cmd(a, "cancel", id=self.pick(own).id)
        if close and self.chance(0.5):
            self.cmd(OP, "close_day")
        return None

    def trade_at(self, sym, price, qty, seller, buyer):
        self.ensure_holdings(seller, sym, qty)
        self.ensure_cash(buyer, Decimal(price) * qty)
        if sym.startswith("ZJEA-") and self.room(buyer) < qty:
            self.set_room(buyer, qty + self.r.randint(0, 1000))
        self.cmd(seller, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day",
                 price=str(price), qty=qty)
        self.cmd(buyer, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit",
                 tif=self.pick(["day", "ioc"]), price=str(price), qty=qty)

    def scene_concentration(self, sym, live):
        V = self.pick([999, 1000, 1000, 1001, 2000, 1500, 4])
        people = self.r.sample(live, min(len(live), 6))
        if len(people) < 4:
            return
        k = self.r.randint(2, len(people) - 2)
        sellers, buyers = people[:k][:3], people[k:][:3]

        def split(n, total):
            first = self.pick([total // 2, total // 2 + 1, total // 2 - 1, total, (total + 1) // 2])
            first = max(1, min(total, first))
            parts = [first]
            rest = total - first
            for i in range(n - 1):
                if rest <= 0:
                    break
                q = rest if i == n - 2 else self.r.randint(1, rest)
                parts.append(q)
                rest -= q
            if rest > 0:
                parts[0] += rest
            return parts

        p = self.ref_price(sym)
        for s, q in zip(sellers, split(len(sellers), V)):
            self.ensure_holdings(s, sym, q)
            self.cmd(s, "order", id=self.nid("o"), instrument=sym, side="sell", type="limit", tif="day", price=str(p), qty=q)
        for b, q in zip(buyers, split(len(buyers), V)):
            self.ensure_cash(b, p * q)
            if sym.startswith("ZJEA-") and self.room(b) < q:
                self.set_room(b, q + 10)
            self.cmd(b, "order", id=self.nid("o"), instrument=sym, side="buy", type="limit", tif="day", price=str(p), qty=q)

    def scene_price_move(self, sym, live):
        r = self.ref_price(sym)
        up = self.chance(0.5)
        edge = r * Decimal("1.05") if up else r * Decimal("0.95")
        at = ref.ceil_tick(edge) if up else ref.floor_tick(edge)  # the first tick at 5% or more
        inside = at - Decimal("0.01") if up else at + Decimal("0.01")
        s, b = self.r.sample(live, 2)
        v = self.pick(["at", "inside", "vwap_at", "vwap_inside", "vwap_half"])
        if v == "at":
            self.trade_at(sym, at, self.r.randint(1, 300), s, b)
        elif v == "inside":
            self.trade_at(sym, inside, self.r.randint(1, 300), s, b)
        elif v == "vwap_at":  # (at + inside) / 2 rounds half away from zero onto `at` when up
            self.trade_at(sym, at, 1, s, b)
            self.trade_at(sym, inside, 1, s, b)
        elif v == "vwap_inside":
            self.trade_at(sym, at, 1, s, b)
            self.trade_at(sym, inside, 2, s, b)
        else:
            self.trade_at(sym, at, 3, s, b)
            self.trade_at(sym, inside, 1, s, b)
            self.trade_at(sym, at + (Decimal("0.01") if up else Decimal("-0.01")), 1, s, b)

    def scene_large_holder(self, accts):
        m = self.market
        if self.chance(0.4):
            self.cmd(OP, "set_position_limits", entity_extra=self.r.randint(1000, 400000),
                     investor=self.r.randint(1000, 300000))
        for a in accts:
            acc = self.acct(a)
            thr = m.quota(acc) + m.limits["entity_extra"] // 2 if acc.role == "entity" else m.limits["investor"] // 2
            target = thr + self.pick([0, 1, 1, -1])
            pos = m.position(acc)
            delta = target - pos
            if target < 0 or delta == 0:
                continue
            if delta > 0:
                if acc.role == "entity":
                    self.cmd(ZJ, "issue", instrument="ZJEA-2025", to=a, qty=delta)
                else:
                    self.cmd(ZJ, "issue", instrument="ZJEA-2025", to=ZJ, qty=delta)
                    self.cmd(ZJ, "transfer", instrument="ZJEA-2025", to=a, qty=delta)
            elif not acc.frozen:
                left = -delta
                for s in self.allowance_syms():
                    h = self.held(a, s)
                    q = min(h, left)
                    if q > 0:
                        self.cmd(a, "transfer", instrument=s, to=ZJ, qty=q)
                        left -= q
            if self.chance(0.3):  # ZJEU and CCER never count
                self.cmd(ZJ, "issue", instrument=self.pick(["CCER"] + self.energy_syms()), to=ZJ, qty=1000)
                self.cmd(ZJ, "transfer", instrument=self.pick(["CCER"] + self.energy_syms()), to=a, qty=500)

    def a_scripted(self):
        """A day of scripted trading only: concentration, price moves, cancel ratios, large holders."""
        m = self.market
        if not self.open_fresh_day():
            return None
        live = self.live_traders()
        if len(live) < 4:
            self.cmd(OP, "close_day")
            return None
        syms = [s for s in ["ZJEA-2025", "ZJEA-2024", "ZJEA-2026", "CCER", "ZJEU-2025", "ZJEU-2024"] if s in m.instruments]
        self.r.shuffle(syms)
        for sym in syms[:self.r.randint(1, 3)]:
            self.unhalt(sym)
            x = self.r.random()
            if x < 0.45:
                self.scene_concentration(sym, live)
            elif x < 0.8:
                self.scene_price_move(sym, live)
            else:
                self.scene_concentration(sym, live)
                self.scene_price_move(sym, live)
        if self.chance(0.4):
            self.a_spoof(close=False)
        if self.chance(0.6):
            self.scene_large_holder(self.r.sample(self.traders(), min(3, len(self.traders()))))
        if m.day is not None:
            self.cmd(OP, "close_day")
        return None

    def a_quota_scene(self):
        """A quota driven below zero (14.5.1): a shortfall deducted from a
        pre-allocation, then a final true-up that claws back more than was issued."""
        m = self.market
        open_years = [y for y in (2024, 2025) if y not in m.closed_years]
        cands = [e for e in self.entities() if (e, 2026) not in m.allocations and 2026 not in m.closed_years
                 and m.reports.get((e, 2026)) is None]
        if not open_years or not cands or "ZJEA-2026" not in m.instruments:
            return self.a_limit_edge()
        y0 = open_years[0]
        e = self.pick(cands)
        rep = m.reports.get((e, y0))
        if rep is None or rep["status"] in ("submitted", "returned"):
            self.cmd(e, "submit_report", year=y0, factor_set="FS-2025",
                     fuels=[{"fuel": "coal", "consumption": "%d" % self.r.randint(100, 5000)}],
                     electricity_mwh="0", power_mwh="0", heat_gj="0")
        rep = m.reports.get((e, y0))
        if rep is not None and rep["status"] == "submitted":
            self.cmd(self.pick(["VER-A", "VER-B"]), "verify_report", entity=e, year=y0,
                     verified_emissions=self.r.randint(20000, 90000))
        rep = m.reports.get((e, y0))
        if rep is not None and rep["status"] == "verified":
            self.cmd(ZJ, "confirm_report", entity=e, year=y0)
        self.cmd(ZJ, "close_year", year=y0)
        unit = lambda mwh: [{"fuel": "gas", "power_mwh": str(mwh), "heat_gj": "0", "power_benchmark": "0.3288",
                             "heat_benchmark": "0.0533", "load_factor": "0.8"}]
        self.cmd(ZJ, "allocate_benchmark", entity=e, year=2026, phase="pre", units=unit(self.r.randint(100000, 400000)))
        self.cmd(ZJ, "issue", instrument="ZJEA-2026", to=e, qty=self.r.randint(10000, 150000))
        self.cmd(e, "submit_report", year=2026, factor_set="FS-2025", fuels=[], electricity_mwh="10",
                 power_mwh="0", heat_gj="0")
        self.cmd(self.pick(["VER-A", "VER-B"]), "verify_report", entity=e, year=2026,
                 verified_emissions=self.r.randint(1, 5000))
        self.cmd(ZJ, "confirm_report", entity=e, year=2026)
        self.cmd(ZJ, "allocate_benchmark", entity=e, year=2026, phase="final", units=unit(self.r.randint(1000, 30000)))
        if self.chance(0.5):
            self.cmd(OP, "set_position_limits", entity_extra=self.pick([0, 1, 3, self.r.randint(0, 100000)]),
                     investor=m.limits["investor"])
        if self.day_open():
            self.ensure_cash(e, 100000)
            self.cmd(e, "order", id=self.nid("o"), instrument="ZJEA-2025", side="buy", type="limit", tif="day",
                     price=str(self.band("ZJEA-2025")[0]), qty=1)
            self.cmd(e, "order", id=self.nid("o"), instrument="ZJEU-2025", side="buy", type="limit", tif="day",
                     price=str(self.band("ZJEU-2025")[0]), qty=1)
        return None

    # ------------------------------------------------------- 15 energy
    def energy_lines(self):
        x = self.r.random()
        if x < 0.45:
            lines = []
            for c in self.r.sample(CARRIERS, self.r.randint(1, 4)):
                q = self.pick(["%d" % self.r.randint(0, 90000), "%.1f" % self.r.uniform(0, 50000),
                               "%.3f" % self.r.uniform(0, 5000), "0", "0.000", "%d.5" % self.r.randint(0, 999)])
                lines.append({"carrier": c, "qty": q})
            return lines
        if x < 0.65:  # exact halves and their neighbours
            c, q = self.pick(HALF_LINES)
            q = self.pick([q, q, q + ".0001", str(Decimal(q) - Decimal("0.0001")), q + ".00"])
            lines = [{"carrier": c, "qty": q}]
            for c2, q2 in self.r.sample(WHOLE_LINES, self.r.randint(0, 2)):
                if c2 not in [l["carrier"] for l in lines]:
                    lines.append({"carrier": c2, "qty": q2})
            if self.chance(0.3):  # two halves make a whole
                for c3, q3 in HALF_LINES:
                    if c3 not in [l["carrier"] for l in lines]:
                        lines.append({"carrier": c3, "qty": q3})
                        break
            self.r.shuffle(lines)
            return lines
        if x < 0.72:
            return self.pick([[], None, "absent", [{"carrier": c, "qty": "1000"} for c in CARRIERS],
                              [{"carrier": "coal", "qty": "123456789012.3456"}]])
        if x < 0.8:  # long decimals (at most 28 significant digits): U is exact, rounded once
            lines = []
            for c in self.r.sample(CARRIERS, self.r.randint(1, 4)):
                ip = self.r.randint(0, 10 ** self.r.randint(0, 9))
                digits = self.r.randint(1, 27 - len(str(ip)))
                lines.append({"carrier": c, "qty": "%d.%0*d" % (ip, digits, self.r.randint(0, 10 ** digits - 1))})
            if self.chance(0.5):
                c, q = self.pick(HALF_LINES)
                eps = "0." + "0" * (27 - len(q)) + "1"
                q = str(Decimal(q) + self.pick([1, -1]) * Decimal(eps))
                lines = [{"carrier": c, "qty": q}]  # just off a half, by 10^-23 or so
                for c2, q2 in self.r.sample(WHOLE_LINES, 2):
                    if c2 not in [l["carrier"] for l in lines]:
                        lines.append({"carrier": c2, "qty": q2 + "0" * self.r.randint(0, 4)})
                lines = [l for l in lines if len(l["qty"].replace(".", "").lstrip("0")) <= 28]
            self.r.shuffle(lines)
            return lines
        # faults (MALFORMED)
        good = {"carrier": self.pick(CARRIERS), "qty": "100"}
        bad = self.pick([
            {"carrier": "hydrogen", "qty": "1"}, {"carrier": "Coal", "qty": "1"}, {"carrier": "natural gas", "qty": "1"},
            {"carrier": good["carrier"], "qty": "5"}, {"carrier": "coal", "qty": 1200},
            {"carrier": "heat", "qty": 12.5}, {"carrier": "coal", "qty": "-1"}, {"carrier": "coal", "qty": ".5"},
            {"carrier": "coal", "qty": "1e3"}, {"carrier": "coal", "qty": "+5"}, {"carrier": 7, "qty": "1"},
            {"carrier": "coal"}, {"qty": "1"}, ["coal", "1"], "coal", {"carrier": "coal", "qty": None},
            {"carrier": None, "qty": "1"}, {"carrier": "coal", "qty": "1."}, {"carrier": "coal", "qty": " 1"},
            {"carrier": "coal", "qty": "\uff11\uff12"}, {"carrier": "coal ", "qty": "1"},
        ])
        if self.chance(0.15):
            return self.pick([{"coal": "1"}, "coal", 5])
        lines = [good, bad] if self.chance(0.5) else [bad, good]
        return lines

    def a_energy_pipeline(self):
        """One entity's year from submission to surrender, with a return on the way at times."""
        m = self.market
        year = self.pick([2025, 2025, 2025, 2024, 2026])
        if year in m.closed_years:
            year = 2025
        cands = [e for e in self.entities()
                 if m.reports.get((e, year)) is None or m.reports[(e, year)]["status"] in ("submitted", "returned")]
        if not cands:
            return self.a_energy_surrender()
        e = self.pick(cands)
        reg = {"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}.get(m.accounts[e].jur, ZJ)
        fuels = [] if self.chance(0.3) else [{"fuel": "coal", "consumption": "%.3f" % self.r.uniform(0, 8000)}]
        lines = self.energy_lines() if self.chance(0.3) else [
            {"carrier": c, "qty": "%d" % self.r.randint(0, 60000)} for c in self.r.sample(CARRIERS, self.r.randint(0, 3))]
        d = {"as": e, "cmd": "submit_report", "year": year, "factor_set": "FS-2025", "fuels": fuels,
             "electricity_mwh": str(self.r.randint(0, 20000)), "power_mwh": "0", "heat_gj": "0"}
        if lines != "absent":
            d["energy"] = lines
        self.emit(d)
        rep = m.reports.get((e, year))
        if rep is None or rep["status"] != "submitted":
            return None
        v = {"as": self.pick(["VER-A", "VER-B"]), "cmd": "verify_report", "entity": e, "year": year}
        if self.chance(0.4):
            v["verified_energy"] = self.pick([rep["energy"], 0, rep["energy"] + self.r.randint(1, 3000),
                                              max(0, rep["energy"] - self.r.randint(1, 3000))])
        if rep["direct"] == 0 or self.chance(0.2):
            v["verified_emissions"] = self.r.randint(1, 20000)
        self.emit(v)
        if m.reports[(e, year)]["status"] != "verified":
            return None
        if self.chance(0.2):
            self.cmd(reg, "return_report", entity=e, year=year)
            return None
        self.cmd(self.pick([reg, ZJ]), "confirm_report", entity=e, year=year)
        for _ in range(self.r.randint(0, 3)):
            self.a_energy_surrender(e, year)
        return None

    def a_energy_report(self):
        m = self.market
        e = self.pick(self.entities())
        year = self.pick([2025, 2025, 2025, 2024, 2026])
        fuels = []
        if self.chance(0.6):
            for _ in range(self.r.randint(1, 2)):
                fuels.append({"fuel": self.pick(["coal", "gas"]), "consumption": "%.3f" % self.r.uniform(0, 30000)})
        actor = e
        if self.chance(0.06):
            actor = self.pick(["GHOST", "VER-A", ZJ, self.pick(self.investors())])
        d = {"as": actor, "cmd": "submit_report", "year": year, "factor_set": "FS-2025" if not self.chance(0.04) else "FS-X",
             "fuels": fuels, "electricity_mwh": str(self.r.randint(0, 50000)), "power_mwh": "0", "heat_gj": "0"}
        lines = self.energy_lines()
        if lines != "absent":
            d["energy"] = lines
        return self.emit(d)

    def a_energy_verify(self):
        m = self.market
        reps = sorted(m.reports)
        if reps and self.chance(0.9):
            e, year = self.pick(reps)
            if self.chance(0.7):
                sub = [k for k in reps if m.reports[k]["status"] == "submitted"]
                if sub:
                    e, year = self.pick(sub)
        else:
            e, year = self.pick(self.entities()), 2025
        rep = m.reports.get((e, year))
        u = rep["energy"] if rep else 0
        if self.chance(0.6):
            ve = self.pick(["absent", "absent", u, u + self.r.randint(-50, 50), max(0, u - 1), u + 1, 0, MAXQ, None,
                            self.r.randint(0, 100000)])
        else:
            ve = self.pick([-1, -10 ** 20, MAXQ + 1, 10 ** 20, 1.5, "100", True, [1], 0, MAXQ])
        d = {"as": self.pick(["VER-A", "VER-B"]) if not self.chance(0.05) else self.pick([e, ZJ, "GHOST"]),
             "cmd": "verify_report", "entity": e, "year": year}
        if ve != "absent":
            d["verified_energy"] = ve
        if self.chance(0.3):
            d["verified_emissions"] = self.pick([max(1, (rep or {}).get("direct", 1)), 1, 0, self.r.randint(1, 500000)])
        return self.emit(d)

    def a_energy_confirm(self):
        m = self.market
        reps = sorted(m.reports)
        if not reps:
            return self.a_energy_report()
        e, year = self.pick(reps)
        if self.chance(0.7):
            ver = [k for k in reps if m.reports[k]["status"] == "verified"]
            if ver:
                e, year = self.pick(ver)
        jur = m.accounts[e].jur
        reg = {"HZ": "HZ-EEB", "NB": "NB-EEB", "SX": "SX-EEB"}.get(jur, ZJ)
        reg = self.pick([reg, reg, ZJ, "NB-EEB"])
        return self.cmd(reg, "confirm_report" if self.chance(0.7) else "return_report", entity=e, year=year)

    def a_energy_surrender(self, e=None, year=None):
        m = self.market
        conf = sorted(k for k, r in m.reports.items() if r["status"] == "confirmed" and k[1] not in m.closed_years)
        if e is None and (not conf or self.chance(0.05)):
            e = self.pick(self.entities())
            return self.cmd(e, "surrender", year=2025, instrument="ZJEU-2025", qty=self.r.randint(1, 100))
        if e is None:
            e, year = self.pick(conf)
        rep = m.reports[(e, year)]
        sym = self.pick(["ZJEU-%d" % year] * 5 + ["ZJEU-%d" % (year - 1), "ZJEU-%d" % (year + 1),
                                                  "ZJEA-%d" % year, "CCER"])
        if sym.startswith("ZJEU-"):
            rest = rep["energy_obligation"] - m.energy_surrendered.get((e, year), 0)
        else:
            rest = rep["obligation"] - m.surrendered.get((e, year), [0, 0])[0]
        qty = self.pick([rest, rest, rest + 1, rest // 2, 1, max(1, rest - 1)])
        if self.chance(0.05):
            qty = self.pick([0, -1, MAXQ + 1])
        if sym in m.instruments and qty > 0 and self.chance(0.85) and qty <= MAXQ:
            self.ensure_holdings(e, sym, qty)
        return self.cmd(e if not self.chance(0.03) else self.pick(self.investors() + [ZJ]), "surrender",
                        year=year, instrument=sym, qty=qty)

    def a_energy_close(self):
        m = self.market
        frac = len(self.out) / float(self.target)
        if frac < 0.3:
            year = self.pick([2027, 2023])
        elif frac < 0.5:
            year = self.pick([2024, 2024, 2027])
        elif frac < 0.75:
            year = self.pick([2024, 2026])
        else:
            year = self.pick([2025, 2025, 2026, 2024])
        actor = ZJ if not self.chance(0.08) else self.pick(["HZ-EEB", OP])
        return self.cmd(actor, "close_year", year=year)

    def a_energy_burst(self):
        syms = self.energy_syms()
        if not syms:
            return None
        sym = self.pick(syms)
        if self.day_open() and self.chance(0.7):
            self.unhalt(sym)
        return self.a_burst(sym)

    def a_energy_block(self):
        m = self.market
        if not self.day_open():
            return self.a_open()
        live = self.live_traders()
        syms = self.energy_syms()
        if len(live) < 2 or not syms:
            return None
        a, cp = self.r.sample(live, 2)
        sym = self.pick(syms)
        if self.chance(0.7):
            self.unhalt(sym)
        side = self.pick(["buy", "sell"])
        qty = self.pick([100000, 99999, self.r.randint(100000, 150000)])
        r = self.ref_price(sym)
        price = self.pick([ref.ceil_tick(r * Decimal("0.70")), ref.floor_tick(r * Decimal("1.30")), r,
                           ref.floor_tick(r * Decimal("1.30")) + Decimal("0.01")])
        seller, buyer = (a, cp) if side == "sell" else (cp, a)
        self.ensure_holdings(seller, sym, qty)
        self.ensure_cash(buyer, price * qty)
        res = self.cmd(a, "block_propose", id=self.nid("blk"), instrument=sym, side=side, counterparty=cp, qty=qty,
                       price=str(price))
        if res.get("ok") and self.chance(0.7):
            return self.cmd(cp, "block_accept", proposer=a, id="blk%d" % self.oid)
        return None

    def a_energy_auction(self):
        m = self.market
        if not self.day_open():
            return self.a_open()
        syms = self.energy_syms()
        live = self.live_traders()
        if not syms or not live:
            return None
        sym = self.pick(syms)
        reg = self.pick([ZJ, ZJ, "HZ-EEB", "NB-EEB"])
        qty = self.r.randint(1000, 30000)
        if self.held(reg, sym) < qty:
            self.cmd(reg, "issue", instrument=sym, to=reg, qty=qty)
        reserve = ref.floor_tick(self.ref_price(sym) * Decimal("0.9"))
        aid = self.nid("auc")
        res = self.cmd(reg, "auction_open", id=aid, instrument=sym, qty=qty, reserve_price=str(reserve))
        if not res.get("ok"):
            return None
        for _ in range(self.r.randint(1, 5)):
            b = self.pick(live)
            price = reserve + Decimal(self.r.randint(-2, 500)) / 100
            q = self.r.randint(1, qty)
            self.ensure_cash(b, price * q)
            self.cmd(b, "auction_bid", auction=aid, id=self.nid("bid"), price=str(price), qty=q)
        if self.chance(0.5):
            self.cmd(self.pick([OP, reg]), "auction_close", auction=aid)
        return None

    def a_energy_registry(self):
        m = self.market
        syms = self.energy_syms() + ["ZJEU-2031"]
        sym = self.pick(syms)
        x = self.r.random()
        tr = self.traders()
        if x < 0.35:
            reg = self.pick(REGULATORS)
            return self.cmd(reg, "issue", instrument=sym, to=self.pick(self.entities() + [reg] + self.investors()),
                            qty=self.pick([self.r.randint(1, 20000), 0]))
        if x < 0.7:
            a = self.pick(tr + [ZJ])
            h = self.held(a, sym)
            return self.cmd(a, "transfer", instrument=sym, to=self.pick(tr + [ZJ, "VER-A"]),
                            qty=self.r.randint(1, max(1, h)) if h else self.r.randint(1, 100))
        if x < 0.85:
            a = self.pick(tr)
            h = self.held(a, sym)
            return self.cmd(a, "retire", instrument=sym, qty=max(1, h // 4), beneficiary="energy saving")
        return self.cmd(OP, "define_instrument", symbol=self.pick(["ZJEU-2027", "ZJEU-2024", "ZJEU-2026", "ZJEU-7"]),
                        reference_price=self.pick(["88.00", "0.00", "99.999"]))
