#!/usr/bin/env python3
"""Independent reference model of the Zhejiang carbon market (RULEBOOK.md v3,
REPLAY.md v3), written from the texts only, for verification.

v3 covers market supervision (section 14: position limits, halts, related
accounts, alerts; report keys `alerts` and `supervision`) and energy-use rights
(section 15: ZJEU-<year>, energy lines in reports, the energy obligation,
ZJEU surrender, energy columns and the joint status at close_year).

    python3 carbon_ref.py FILE.jsonl      -> prints the REPLAY.md JSON report

Standard library only. Decimal for money/prices, Fraction for non-terminating
divisions, a tiny pure-Python ed25519 key derivation for the test-key check.

Ambiguities in the texts and the readings taken here
-----------------------------------------------------
A1  13.4 "a permission check that depends on a named account is made once that
    account is known to exist": the dependent permission check is made right
    after that one account's existence check (i.e. still before the look-up of
    other named records such as the instrument).  E.g. `issue` by HZ to an NB
    entity of an unknown instrument is NOT_PERMITTED, not UNKNOWN_INSTRUMENT.
A2  A later `genesis` line is "rejected like any unknown command": it goes
    through the ordinary first checks, so without an `as` it is MALFORMED, with
    a valid `as` it is UNKNOWN_COMMAND.
A3  A valid `as` is a JSON string matching the id pattern; a non-string `cmd`
    counts as lacking `cmd` (MALFORMED).
A4  `instrument` fields of commands other than define_instrument are free
    strings (only define_instrument's symbol has a form, 13.9): an unknown one
    is UNKNOWN_INSTRUMENT, never MALFORMED.
A5  create_account naming a jurisdiction outside the genesis set is MALFORMED
    whoever the (regulator) actor is; a city regulator naming another member
    of the set is NOT_PERMITTED.
A6  A market order that carries any price (even a badly ticked one) is
    INVALID_ORDER: "a limit price is a positive multiple of 0.01" applies to
    limit orders only (first read the other way; the Rust side's reading was
    adopted as the closer one to section 5's wording).
A7  verify/confirm/return on a report of a closed year are YEAR_CLOSED ("reports
    ... for a closed year are YEAR_CLOSED", 13.17), checked after
    REPORT_NOT_FOUND and before REPORT_STATE.
A8  `verified_emissions` is a quantity: below 1 or > 10^12 is INVALID_QUANTITY
    (13.2 "below 1 unless a rule says otherwise"; no rule allows 0).  `baseline` (grandfather) negative is MALFORMED (13.19
    "whole tonnes", 13.1 negative measure), above 10^12 INVALID_QUANTITY.
A9  A `public_key` that is not 64 hex digits is MALFORMED; one that is 64 hex
    digits but differs from the account's test key stops the replay (exit 2),
    whether or not the line would otherwise have been accepted.
A10 Report `fuel` names (submit_report) are free strings looked up in the
    factor set (UNKNOWN_FACTOR_SET); the `fuel` enum of 13.1 is the
    allocate_benchmark unit's coal|gas.
A11 The order of surrender checks follows section 12 (YEAR_CLOSED before
    REPORT_NOT_CONFIRMED; INSUFFICIENT_HOLDINGS before OFFSET_LIMIT_EXCEEDED
    before EXCEEDS_OBLIGATION), as the example days confirm.
A12 A market buy matches with the upper band as its limit; a market sell with no
    limit (13.12).  Resting orders are always inside the band, so both sweep.
A13 Auction fills: each filled bid's whole lock (bid price * bid qty) is
    released, the winner pays clearing * filled; trades are listed in fill
    order (price desc, then time).
A14 A genesis is valid when: cmd "genesis", `operator` a valid id, `regulators` a
    non-empty list of objects with valid, distinct ids (distinct from the
    operator) and jurisdictions of 2-4 capital letters.
A15 `retire` accepts any string as `beneficiary` (also "").
A16 Numbers have no size limit beyond the rules': a JSON integer quantity of
    any size outside its range is INVALID_QUANTITY (13.2), never MALFORMED
    (it is of the right JSON type, 13.1); a decimal of any length that matches
    the pattern is well formed, and is then judged by value (INVALID_PRICE,
    PRICE_OUT_OF_BAND, INVALID_AMOUNT, INSUFFICIENT_FUNDS).  The Rust side
    agrees for integers beyond 64 bits (INVALID_QUANTITY) but answers
    MALFORMED for decimals beyond 28 significant digits, and INVALID_QUANTITY
    for a report whose energy use U (15.2) exceeds 2^63 - 1 tce, which 15.5.4
    leaves unbounded (docs/RULES.md, limits on hostile input); days meant as
    shared vectors avoid such numbers.  Within 28 digits both compute U
    exactly and round once (15.2), however many digits the exact sum has.
A17 14.1 / 15.2: `entity_extra`, `investor` (set_position_limits) and
    `verified_energy` are quantities: a negative JSON integer is
    INVALID_QUANTITY (13.2), not a "negative measure" (13.1, MALFORMED); 0 is
    valid for all three (the ranges start at 0, unlike A8's verified_emissions).
    The supervision example (set_position_limits -1) and the energy example
    (verified_energy -5) confirm it.
A18 14.2 / 14.5.4: the `instrument` of halt/resume is not pattern-checked but
    must still be a JSON string; a number is MALFORMED (wrong JSON type, 13.1),
    as in A4.  The supervision example (`"instrument": 2025`) confirms it.
A19 14.1: buying exposure is taken when the command is checked, before its own
    lock: resting buy orders count at their remaining quantity (also on a
    halted book), open auction bids at their whole bid quantity, open buy block
    proposals at their quantity.  A sell proposal accepted by the buyer is
    checked against the acceptor only.
A20 15.2: energy carriers are matched exactly as spelled in the table
    (case-sensitive: "Natural_Gas" is an unknown carrier, MALFORMED); `energy`
    that is not a list, a line that is not an object, or lacks `carrier` or
    `qty`, is MALFORMED.  The energy example confirms these.
A21 14.4.2.4: "above its reporting threshold" is taken literally: with a
    negative quota (14.5.1) the threshold may be negative, and the entity is
    then a large holder even with no position.
A22 Beyond the rulebook (docs/RULES.md): role "auditor", read-only, created by
    the ZJ regulator only (NOT_PERMITTED otherwise); every command an auditor
    signs is NOT_PERMITTED, which the role checks of every command give.
"""
import hashlib
import json
import re
import sys
from datetime import date as _date
from decimal import Decimal, getcontext, ROUND_HALF_UP, ROUND_CEILING, ROUND_FLOOR
from fractions import Fraction

getcontext().prec = 80

ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,35}")
DEC_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SYM_RE = re.compile(r"CCER|ZJEA-[0-9]{4}|ZJEU-[0-9]{4}")
JUR_RE = re.compile(r"[A-Z]{2,4}")
HEX64_RE = re.compile(r"[0-9a-fA-F]{64}")
MAXQ = 10 ** 12
CENT = Decimal("0.01")

COMMANDS = {
    "create_account", "define_instrument", "deposit", "withdraw", "issue", "transfer",
    "retire", "freeze", "unfreeze", "open_day", "close_day", "order", "cancel",
    "block_propose", "block_accept", "block_cancel", "auction_open", "auction_bid",
    "auction_close", "allocate_benchmark", "allocate_grandfather", "define_factor_set",
    "submit_report", "verify_report", "confirm_report", "return_report", "surrender",
    "close_year", "set_position_limits", "halt", "resume", "declare_group",
}

DEFAULT_LIMIT = 1000000  # 14.1: entity_extra and investor both start here

# 15.2: tce per unit of each energy carrier (GB/T 2589-2020 reference values)
ENERGY_COEF = {
    "coal": Decimal("0.7143"), "coke": Decimal("0.9714"), "crude_oil": Decimal("1.4286"),
    "fuel_oil": Decimal("1.4286"), "gasoline": Decimal("1.4714"), "diesel": Decimal("1.4571"),
    "lpg": Decimal("1.7143"), "natural_gas": Decimal("12.1430"), "electricity": Decimal("0.1229"),
    "heat": Decimal("0.03412"),
}


def is_allowance(sym):
    """14.1 / 15.1: positions, limits and large holders concern ZJEA-* only."""
    return sym.startswith("ZJEA-")


# ---------------------------------------------------------------- ed25519 ---
_P = 2 ** 255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_BY = 4 * pow(5, _P - 2, _P) % _P


def _xrecover(y):
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P != 0:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    if x % 2 != 0:
        x = _P - x
    return x


_B = (_xrecover(_BY) % _P, _BY % _P)


def _edd(p, q):
    (x1, y1), (x2, y2) = p, q
    t = _D * x1 * x2 * y1 * y2
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P)
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P)
    return (x3 % _P, y3 % _P)


def _scalarmult(p, e):
    r = (0, 1)
    while e:
        if e & 1:
            r = _edd(r, p)
        p = _edd(p, p)
        e >>= 1
    return r


def test_public_key(account_id):
    seed = hashlib.sha256(("carbon-ledger test key:" + account_id).encode()).digest()
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    x, y = _scalarmult(_B, a)
    enc = y | ((x & 1) << 255)
    return enc.to_bytes(32, "little").hex()


# ----------------------------------------------------------------- numbers --
def rnd(x, places=0):
    """round half away from zero of a Decimal or Fraction, returns Decimal"""
    if isinstance(x, Fraction):
        scale = 10 ** places
        v = x * scale
        n = abs(v.numerator) * 2 + v.denominator
        q = n // (2 * v.denominator)
        q = q if v >= 0 else -q
        return Decimal(q) / Decimal(scale)
    return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ceil_tick(d):
    return d.quantize(CENT, rounding=ROUND_CEILING)


def floor_tick(d):
    return d.quantize(CENT, rounding=ROUND_FLOOR)


def tick_ok(d):
    return d > 0 and (d / CENT) == (d / CENT).to_integral_value()


def money(d):
    d = d.quantize(CENT)
    if d == 0:
        d = Decimal("0.00")
    return str(d)


class Reject(Exception):
    def __init__(self, code):
        self.code = code


class Abort(Exception):
    pass


def need(cond, code):
    if not cond:
        raise Reject(code)


# ---------------------------------------------------------- field parsing --
class Fields:
    """Reads a command's fields; any form error is MALFORMED (13.1)."""

    def __init__(self, obj):
        self.o = obj

    def has(self, k):
        return self.o.get(k) is not None

    def raw(self, k, optional=False):
        v = self.o.get(k)
        if v is None:
            if optional:
                return None
            raise Reject("MALFORMED")
        return v

    def str_(self, k, optional=False):
        v = self.raw(k, optional)
        if v is None:
            return None
        need(isinstance(v, str), "MALFORMED")
        return v

    def id_(self, k, optional=False):
        v = self.str_(k, optional)
        if v is not None:
            need(ID_RE.fullmatch(v) is not None, "MALFORMED")
        return v

    def int_(self, k, optional=False):
        v = self.raw(k, optional)
        if v is None:
            return None
        need(isinstance(v, int) and not isinstance(v, bool), "MALFORMED")
        return v

    def dec(self, k, optional=False):
        v = self.str_(k, optional)
        if v is None:
            return None
        need(DEC_RE.fullmatch(v) is not None, "MALFORMED")
        return Decimal(v)

    def enum(self, k, values):
        v = self.str_(k)
        need(v in values, "MALFORMED")
        return v

    def date(self, k):
        v = self.str_(k)
        need(DATE_RE.fullmatch(v) is not None, "MALFORMED")
        try:
            _date(int(v[:4]), int(v[5:7]), int(v[8:10]))
        except ValueError:
            raise Reject("MALFORMED")
        return v


def nonneg(d):
    need(d >= 0, "MALFORMED")
    return d


# ------------------------------------------------------------------ state --
class Account:
    def __init__(self, aid, role, jur):
        self.id, self.role, self.jur = aid, role, jur
        self.frozen = False
        self.cash = Decimal(0)
        self.cash_locked = Decimal(0)
        self.h = {}  # symbol -> [available, locked, pending]

    def hold(self, sym):
        return self.h.setdefault(sym, [0, 0, 0])


class Order:
    def __init__(self, seq, acct, oid, sym, side, price, qty, limit):
        self.seq, self.acct, self.id, self.sym, self.side = seq, acct, oid, sym, side
        self.price, self.rem, self.limit = price, qty, limit


class Market:
    def __init__(self, operator, regulators):
        self.accounts = {}
        self.operator = operator
        self.accounts[operator] = Account(operator, "operator", None)
        self.jurs = set()
        for rid, jur in regulators:
            self.accounts[rid] = Account(rid, "regulator", jur)
            self.jurs.add(jur)
        self.instruments = {}  # sym -> dict(ref=Decimal, closes=[...])
        self.supply = {}
        self.day = None  # dict(date, refs{sym: ref}, stats{sym: ...}) while open
        self.last_date = None
        self.seq = 0
        self.book = {}  # sym -> list of resting Orders
        self.order_ids = set()  # (acct, id)
        self.block_ids = set()
        self.proposals = {}  # (proposer, id) -> dict
        self.auction_ids = set()
        self.auctions = {}  # id -> dict
        self.auction_order = []
        self.bid_ids = set()
        self.factor_sets = {}
        self.reports = {}  # (entity, year) -> dict
        self.allocations = {}  # (entity, year) -> dict
        self.deduction = {}  # entity -> remaining
        self.closed_years = set()
        self.surrendered = {}  # (entity, year) -> [total, ccer]
        self.energy_surrendered = {}  # (entity, year) -> ZJEU units surrendered
        self.trades = []
        self.days = []
        self.compliance = []
        # section 14
        self.limits = dict(entity_extra=DEFAULT_LIMIT, investor=DEFAULT_LIMIT)
        self.halted = set()
        self.groups = {}  # group id -> [members in declared order]
        self.group_of = {}  # account id -> group id
        self.alerts = []

    # -- helpers
    def acct(self, aid):
        a = self.accounts.get(aid)
        need(a is not None, "UNKNOWN_ACCOUNT")
        return a

    def instr(self, sym):
        need(sym in self.instruments, "UNKNOWN_INSTRUMENT")
        return self.instruments[sym]

    def role(self, a, *roles):
        need(a.role in roles, "NOT_PERMITTED")

    def is_zj(self, a):
        return a.role == "regulator" and a.jur == "ZJ"

    def acts_on(self, reg, target):
        return reg.jur == "ZJ" or reg.jur == target.jur

    def not_frozen(self, a):
        need(not a.frozen, "ACCOUNT_FROZEN")

    def open_day(self):
        need(self.day is not None, "MARKET_CLOSED")

    def sup(self, sym):
        return self.supply.setdefault(sym, dict(issued=0, surrendered=0, retired=0, clawed_back=0))

    def band_ref(self, sym):
        return self.day["refs"][sym]

    def stats(self, sym):
        return self.day["stats"].setdefault(sym, dict(trades=[], block=0, auction=0, bought={}, sold={},
                                                      placed={}, cancelled={}))

    def not_halted(self, sym):
        need(sym not in self.halted, "MARKET_HALTED")

    # -- section 14.1: positions, exposure, limits
    def quota(self, a):
        years = [y for (e, y) in self.allocations if e == a.id]
        if not years:
            return 0
        r = self.allocations[(a.id, max(years))]
        return r["issued"] - r["clawed_back"]

    def position(self, a):
        return sum(sum(h) for sym, h in a.h.items() if is_allowance(sym))

    def exposure(self, a):
        x = self.position(a)
        for sym, book in self.book.items():
            if is_allowance(sym):
                x += sum(o.rem for o in book if o.acct == a.id and o.side == "buy")
        x += sum(p["qty"] for p in self.proposals.values()
                 if p["proposer"] == a.id and p["side"] == "buy" and is_allowance(p["sym"]))
        for auc in self.auctions.values():
            if auc["open"] and is_allowance(auc["sym"]):
                x += sum(b["qty"] for b in auc["bids"] if b["acct"] == a.id)
        return x

    def limit(self, a):
        if a.role == "entity":
            return self.quota(a) + self.limits["entity_extra"]
        return self.limits["investor"]

    def check_limit(self, a, sym, qty):
        """14.1: the last check of a buying command on a ZJEA-* instrument."""
        if is_allowance(sym):
            need(self.exposure(a) + qty <= self.limit(a), "POSITION_LIMIT_EXCEEDED")

    def related_trade(self, sym, mode, p, q, buyer, seller):
        g = self.group_of.get(buyer)
        if g is not None and g == self.group_of.get(seller):
            self.alerts.append({"date": self.day["date"], "kind": "related_trade", "group": g,
                                "instrument": sym, "mode": mode, "price": money(p), "qty": q,
                                "buyer": buyer, "seller": seller})

    # -- lock releases
    def release_order(self, o):
        a = self.accounts[o.acct]
        if o.side == "buy":
            amt = o.limit * o.rem
            a.cash_locked -= amt
            a.cash += amt
        else:
            h = a.hold(o.sym)
            h[1] -= o.rem
            h[0] += o.rem
        o.rem = 0

    def release_proposal(self, p):
        a = self.accounts[p["proposer"]]
        if p["side"] == "buy":
            amt = p["price"] * p["qty"]
            a.cash_locked -= amt
            a.cash += amt
        else:
            h = a.hold(p["sym"])
            h[1] -= p["qty"]
            h[0] += p["qty"]

    def release_bid(self, b):
        a = self.accounts[b["acct"]]
        amt = b["price"] * b["qty"]
        a.cash_locked -= amt
        a.cash += amt

    # ---------------------------------------------------------- commands
    def apply(self, cmd, f, actor_id):
        return getattr(self, "c_" + cmd)(f, actor_id)

    def c_create_account(self, f, actor_id):
        nid = f.id_("id")
        role = f.enum("role", ("operator", "regulator", "entity", "investor", "verifier", "auditor"))
        jur = f.str_("jurisdiction", optional=True)
        pk = f.str_("public_key", optional=True)
        if pk is not None:
            need(HEX64_RE.fullmatch(pk) is not None, "MALFORMED")
        if jur is not None:
            need(jur in self.jurs, "MALFORMED")
        actor = self.accounts.get(actor_id)
        if actor is not None and self.is_zj(actor) and jur is None:
            raise Reject("MALFORMED")
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        # A22 (docs/RULES.md, beyond the rulebook): read-only auditors, created by ZJ only.
        need(role in ("entity", "investor", "verifier") or (role == "auditor" and actor.jur == "ZJ"), "NOT_PERMITTED")
        if actor.jur != "ZJ":
            need(jur is None or jur == actor.jur, "NOT_PERMITTED")
            jur = actor.jur
        need(nid not in self.accounts, "ACCOUNT_EXISTS")
        self.accounts[nid] = Account(nid, role, jur)

    def c_define_instrument(self, f, actor_id):
        sym = f.str_("symbol")
        need(SYM_RE.fullmatch(sym) is not None, "MALFORMED")
        ref = f.dec("reference_price")
        actor = self.acct(actor_id)
        self.role(actor, "operator")
        need(tick_ok(ref), "INVALID_PRICE")
        need(sym not in self.instruments, "INSTRUMENT_EXISTS")
        ref = ref.quantize(CENT)
        self.instruments[sym] = dict(ref=ref, closes=[])
        self.sup(sym)
        if self.day is not None:
            self.day["refs"][sym] = ref

    def _cash_target(self, f, actor_id):
        aid = f.id_("account")
        amt = f.dec("amount")
        actor = self.acct(actor_id)
        self.role(actor, "operator")
        a = self.acct(aid)
        need(a.role in ("entity", "investor", "regulator"), "NOT_PERMITTED")
        return a, amt

    def c_deposit(self, f, actor_id):
        a, amt = self._cash_target(f, actor_id)
        need(tick_ok(amt), "INVALID_AMOUNT")
        a.cash += amt.quantize(CENT)

    def c_withdraw(self, f, actor_id):
        a, amt = self._cash_target(f, actor_id)
        self.not_frozen(a)
        need(tick_ok(amt), "INVALID_AMOUNT")
        need(a.cash >= amt, "INSUFFICIENT_FUNDS")
        a.cash -= amt.quantize(CENT)

    def c_issue(self, f, actor_id):
        sym = f.str_("instrument")
        to = f.id_("to")
        qty = f.int_("qty")
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        if sym == "CCER":
            need(actor.jur == "ZJ", "NOT_PERMITTED")
        t = self.acct(to)
        need(t is actor or (t.role == "entity" and self.acts_on(actor, t)), "NOT_PERMITTED")
        self.instr(sym)
        need(1 <= qty <= MAXQ, "INVALID_QUANTITY")
        t.hold(sym)[0] += qty
        self.sup(sym)["issued"] += qty

    def c_transfer(self, f, actor_id):
        sym = f.str_("instrument")
        to = f.id_("to")
        qty = f.int_("qty")
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor", "regulator")
        t = self.acct(to)
        need(t.role in ("entity", "investor", "regulator"), "NOT_PERMITTED")
        self.instr(sym)
        self.not_frozen(actor)
        need(1 <= qty <= MAXQ, "INVALID_QUANTITY")
        h = actor.hold(sym)
        need(h[0] >= qty, "INSUFFICIENT_HOLDINGS")
        h[0] -= qty
        t.hold(sym)[0] += qty

    def c_retire(self, f, actor_id):
        sym = f.str_("instrument")
        qty = f.int_("qty")
        f.str_("beneficiary")
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor")
        self.instr(sym)
        self.not_frozen(actor)
        need(1 <= qty <= MAXQ, "INVALID_QUANTITY")
        h = actor.hold(sym)
        need(h[0] >= qty, "INSUFFICIENT_HOLDINGS")
        h[0] -= qty
        self.sup(sym)["retired"] += qty

    def _freeze_target(self, f, actor_id):
        aid = f.id_("account")
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        a = self.acct(aid)
        need(a.role in ("entity", "investor", "verifier"), "NOT_PERMITTED")
        need(self.acts_on(actor, a), "NOT_PERMITTED")
        return a

    def c_freeze(self, f, actor_id):
        a = self._freeze_target(f, actor_id)
        if a.frozen:
            return
        a.frozen = True
        for sym in sorted(self.book):
            for o in [o for o in self.book[sym] if o.acct == a.id]:
                self.release_order(o)
                self.book[sym].remove(o)
        for key in [k for k in self.proposals if k[0] == a.id]:
            self.release_proposal(self.proposals.pop(key))
        for aid in self.auction_order:
            auc = self.auctions[aid]
            if auc["open"]:
                for b in [b for b in auc["bids"] if b["acct"] == a.id]:
                    self.release_bid(b)
                    auc["bids"].remove(b)

    def c_unfreeze(self, f, actor_id):
        a = self._freeze_target(f, actor_id)
        a.frozen = False

    def c_open_day(self, f, actor_id):
        d = f.date("date")
        actor = self.acct(actor_id)
        self.role(actor, "operator")
        need(self.day is None, "MARKET_OPEN")
        need(self.last_date is None or d > self.last_date, "INVALID_DATE")
        self.last_date = d
        self.day = dict(date=d, refs={s: i["ref"] for s, i in self.instruments.items()}, stats={})

    def c_close_day(self, f, actor_id):
        actor = self.acct(actor_id)
        self.role(actor, "operator")
        self.open_day()
        for aid in self.auction_order:
            if self.auctions[aid]["open"]:
                self.clear_auction(self.auctions[aid])
        for sym in sorted(self.book):
            for o in self.book[sym]:
                self.release_order(o)
            self.book[sym] = []
        for key in list(self.proposals):
            self.release_proposal(self.proposals.pop(key))
        for sym in sorted(self.day["refs"]):
            st = self.stats(sym)
            ins = self.instruments[sym]
            tr = st["trades"]
            vol = sum(q for p, q in tr)
            turn = sum((p * q for p, q in tr), Decimal(0))
            if vol:
                ins["ref"] = rnd(Fraction(turn) / vol, 2)
            ins["closes"].append(ins["ref"])
            self.days.append({
                "date": self.day["date"], "instrument": sym,
                "reference": money(self.day["refs"][sym]),
                "open": money(tr[0][0]) if tr else None,
                "high": money(max(p for p, q in tr)) if tr else None,
                "low": money(min(p for p, q in tr)) if tr else None,
                "close": money(ins["ref"]), "volume": vol, "turnover": money(turn),
                "block_volume": st["block"], "auction_volume": st["auction"],
            })
        for a in self.accounts.values():
            for h in a.h.values():
                h[0] += h[2]
                h[2] = 0
        self.close_day_alerts()
        self.day = None

    def close_day_alerts(self):
        """14.4.2: after the summaries and the T+1 release, in this order."""
        d = self.day["date"]
        syms = sorted(self.day["refs"])
        for sym in syms:
            st, ref = self.stats(sym), self.day["refs"][sym]
            close = self.instruments[sym]["ref"]
            if st["trades"] and abs(close - ref) * 20 >= ref:
                self.alerts.append({"date": d, "kind": "price_move", "instrument": sym,
                                    "reference": money(ref), "close": money(close)})
        for sym in syms:
            st = self.stats(sym)
            vol = sum(q for p, q in st["trades"])
            if vol < 1000:
                continue
            for side, key in (("buy", "bought"), ("sell", "sold")):
                for aid in sorted(st[key]):
                    if st[key][aid] * 2 > vol:
                        self.alerts.append({"date": d, "kind": "concentration", "instrument": sym,
                                            "account": aid, "side": side, "qty": st[key][aid], "volume": vol})
        for sym in syms:
            st = self.stats(sym)
            for aid in sorted(st["placed"]):
                placed, cancelled = st["placed"][aid], st["cancelled"].get(aid, 0)
                if placed >= 10 and cancelled * 10 >= placed * 8:
                    self.alerts.append({"date": d, "kind": "cancel_ratio", "instrument": sym,
                                        "account": aid, "placed": placed, "cancelled": cancelled})
        for aid in sorted(self.accounts):
            a = self.accounts[aid]
            if a.role == "entity":
                threshold = self.quota(a) + self.limits["entity_extra"] // 2
            elif a.role == "investor":
                threshold = self.limits["investor"] // 2
            else:
                continue
            pos = self.position(a)
            if pos > threshold:
                self.alerts.append({"date": d, "kind": "large_holder", "account": aid,
                                    "position": pos, "threshold": threshold})

    # ---- market supervision (14)
    def c_set_position_limits(self, f, actor_id):
        ee = f.int_("entity_extra")
        inv = f.int_("investor")
        actor = self.acct(actor_id)
        self.role(actor, "operator")
        need(0 <= ee <= MAXQ and 0 <= inv <= MAXQ, "INVALID_QUANTITY")
        self.limits = dict(entity_extra=ee, investor=inv)

    def _halt_target(self, f, actor_id):
        sym = f.str_("instrument")
        actor = self.acct(actor_id)
        need(actor.role == "operator" or self.is_zj(actor), "NOT_PERMITTED")
        self.instr(sym)
        return sym

    def c_halt(self, f, actor_id):
        self.halted.add(self._halt_target(f, actor_id))

    def c_resume(self, f, actor_id):
        self.halted.discard(self._halt_target(f, actor_id))

    def c_declare_group(self, f, actor_id):
        gid = f.id_("id")
        members = f.raw("members")
        need(isinstance(members, list) and 2 <= len(members) <= 50, "MALFORMED")
        for m in members:
            need(isinstance(m, str) and ID_RE.fullmatch(m) is not None, "MALFORMED")
        need(len(set(members)) == len(members), "MALFORMED")
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        for m in members:
            a = self.acct(m)
            need(a.role in ("entity", "investor") and self.acts_on(actor, a), "NOT_PERMITTED")
        need(gid not in self.groups, "DUPLICATE_ID")
        for m in members:
            need(m not in self.group_of, "GROUP_CONFLICT")
        self.groups[gid] = list(members)
        for m in members:
            self.group_of[m] = gid

    # ---- listed trading
    def c_order(self, f, actor_id):
        oid = f.id_("id")
        sym = f.str_("instrument")
        side = f.enum("side", ("buy", "sell"))
        typ = f.enum("type", ("limit", "market"))
        tif = f.enum("tif", ("day", "ioc", "fok"))
        qty = f.int_("qty")
        price = f.dec("price", optional=True)
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor")
        self.instr(sym)
        self.not_frozen(actor)
        self.open_day()
        self.not_halted(sym)
        need(1 <= qty <= 99999, "INVALID_QUANTITY")
        if typ == "limit":
            need(price is not None and tick_ok(price), "INVALID_PRICE")
        else:
            need(price is None, "INVALID_ORDER")
            need(tif != "day", "INVALID_ORDER")
        ref = self.band_ref(sym)
        lo, hi = ceil_tick(ref * Decimal("0.90")), floor_tick(ref * Decimal("1.10"))
        if typ == "limit":
            need(lo <= price <= hi, "PRICE_OUT_OF_BAND")
        need((actor.id, oid) not in self.order_ids, "DUPLICATE_ID")
        limit = price.quantize(CENT) if typ == "limit" else (hi if side == "buy" else None)
        if side == "sell":
            h = actor.hold(sym)
            need(h[0] >= qty, "INSUFFICIENT_HOLDINGS")
            h[0] -= qty
            h[1] += qty
        else:
            need(actor.cash >= limit * qty, "INSUFFICIENT_FUNDS")
            self.check_limit(actor, sym, qty)
            actor.cash -= limit * qty
            actor.cash_locked += limit * qty
        self.order_ids.add((actor.id, oid))
        placed = self.stats(sym)["placed"]
        placed[actor.id] = placed.get(actor.id, 0) + 1
        self.seq += 1
        o = Order(self.seq, actor.id, oid, sym, side, limit, qty, limit)
        book = self.book.setdefault(sym, [])

        def crosses(r):
            if r.side == side:
                return False
            if side == "buy":
                return r.price <= limit
            return limit is None or r.price >= limit

        if side == "buy":
            cands = sorted((r for r in book if crosses(r)), key=lambda r: (r.price, r.seq))
        else:
            cands = sorted((r for r in book if crosses(r)), key=lambda r: (-r.price, r.seq))
        if tif == "fok":
            avail = 0
            for r in cands:
                if r.acct == actor.id:
                    break
                avail += r.rem
            if avail < qty:
                self.release_order(o)
                return {"status": "cancelled", "filled": 0}
        filled = 0
        stp = False
        for r in cands:
            if o.rem == 0:
                break
            if r.acct == actor.id:
                stp = True
                break
            q = min(o.rem, r.rem)
            p = r.price
            if side == "buy":
                self.settle(sym, buyer=actor.id, buy_id=oid, blimit=limit, seller=r.acct, sell_id=r.id, p=p, q=q, seller_locked=True)
            else:
                self.settle(sym, buyer=r.acct, buy_id=r.id, blimit=r.limit, seller=actor.id, sell_id=oid, p=p, q=q, seller_locked=True)
            o.rem -= q
            r.rem -= q
            filled += q
            if r.rem == 0:
                book.remove(r)
        if o.rem == 0:
            return {"status": "filled", "filled": filled}
        if typ == "limit" and tif == "day" and not stp:
            book.append(o)
            return {"status": "resting", "filled": filled}
        self.release_order(o)
        return {"status": "cancelled", "filled": filled}

    def settle(self, sym, buyer, buy_id, blimit, seller, sell_id, p, q, seller_locked, mode="listed"):
        b, s = self.accounts[buyer], self.accounts[seller]
        sh = s.hold(sym)
        if seller_locked:
            sh[1] -= q
        else:
            sh[0] -= q
        b.hold(sym)[2] += q
        if blimit is None:  # buyer pays from available cash
            b.cash -= p * q
        else:
            b.cash_locked -= blimit * q
            b.cash += (blimit - p) * q
        s.cash += p * q
        self.trades.append({"date": self.day["date"], "mode": mode, "instrument": sym, "price": money(p),
                            "qty": q, "buyer": buyer, "buy_id": buy_id, "seller": seller, "sell_id": sell_id})
        st = self.stats(sym)
        if mode == "listed":
            st["trades"].append((p, q))
            st["bought"][buyer] = st["bought"].get(buyer, 0) + q
            st["sold"][seller] = st["sold"].get(seller, 0) + q
        elif mode == "block":
            st["block"] += q
        self.related_trade(sym, mode, p, q, buyer, seller)

    def c_cancel(self, f, actor_id):
        oid = f.id_("id")
        owner = f.id_("account", optional=True)
        actor = self.acct(actor_id)
        if actor.role == "operator":
            need(owner is not None, "NOT_PERMITTED")
            self.acct(owner)
        else:
            self.role(actor, "entity", "investor")
            need(owner is None, "NOT_PERMITTED")
            owner = actor.id
        for sym in sorted(self.book):
            for o in self.book[sym]:
                if o.acct == owner and o.id == oid:
                    self.release_order(o)
                    self.book[sym].remove(o)
                    if actor.role != "operator":  # 14.4.3: the owner's own cancels only
                        c = self.stats(sym)["cancelled"]
                        c[owner] = c.get(owner, 0) + 1
                    return
        raise Reject("UNKNOWN_ORDER")

    # ---- block trading
    def c_block_propose(self, f, actor_id):
        bid = f.id_("id")
        sym = f.str_("instrument")
        side = f.enum("side", ("buy", "sell"))
        cp = f.id_("counterparty")
        qty = f.int_("qty")
        price = f.dec("price")
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor")
        c = self.acct(cp)
        self.instr(sym)
        self.not_frozen(actor)
        self.open_day()
        self.not_halted(sym)
        need(100000 <= qty <= MAXQ, "INVALID_QUANTITY")
        need(tick_ok(price), "INVALID_PRICE")
        need(c.id != actor.id and c.role in ("entity", "investor"), "INVALID_ORDER")
        ref = self.band_ref(sym)
        need(ceil_tick(ref * Decimal("0.70")) <= price <= floor_tick(ref * Decimal("1.30")), "PRICE_OUT_OF_BAND")
        need((actor.id, bid) not in self.block_ids, "DUPLICATE_ID")
        price = price.quantize(CENT)
        if side == "sell":
            h = actor.hold(sym)
            need(h[0] >= qty, "INSUFFICIENT_HOLDINGS")
            h[0] -= qty
            h[1] += qty
        else:
            need(actor.cash >= price * qty, "INSUFFICIENT_FUNDS")
            self.check_limit(actor, sym, qty)
            actor.cash -= price * qty
            actor.cash_locked += price * qty
        self.block_ids.add((actor.id, bid))
        self.proposals[(actor.id, bid)] = dict(proposer=actor.id, id=bid, sym=sym, side=side, cp=c.id, qty=qty, price=price)

    def c_block_accept(self, f, actor_id):
        proposer = f.id_("proposer")
        bid = f.id_("id")
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor")
        self.acct(proposer)
        p = self.proposals.get((proposer, bid))
        need(p is not None, "UNKNOWN_PROPOSAL")
        need(p["cp"] == actor.id, "NOT_PERMITTED")
        self.not_frozen(actor)
        self.open_day()
        sym, qty, price = p["sym"], p["qty"], p["price"]
        self.not_halted(sym)
        if p["side"] == "buy":
            need(actor.hold(sym)[0] >= qty, "INSUFFICIENT_HOLDINGS")
        else:
            need(actor.cash >= price * qty, "INSUFFICIENT_FUNDS")
            self.check_limit(actor, sym, qty)
        del self.proposals[(proposer, bid)]
        if p["side"] == "buy":
            self.settle(sym, buyer=proposer, buy_id=bid, blimit=price, seller=actor.id, sell_id=bid, p=price, q=qty,
                        seller_locked=False, mode="block")
        else:
            self.settle(sym, buyer=actor.id, buy_id=bid, blimit=None, seller=proposer, sell_id=bid, p=price, q=qty,
                        seller_locked=True, mode="block")

    def c_block_cancel(self, f, actor_id):
        bid = f.id_("id")
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor")
        p = self.proposals.get((actor.id, bid))
        need(p is not None, "UNKNOWN_PROPOSAL")
        self.release_proposal(self.proposals.pop((actor.id, bid)))

    # ---- auctions
    def c_auction_open(self, f, actor_id):
        aid = f.id_("id")
        sym = f.str_("instrument")
        qty = f.int_("qty")
        reserve = f.dec("reserve_price")
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        self.instr(sym)
        self.open_day()
        need(1 <= qty <= MAXQ, "INVALID_QUANTITY")
        need(tick_ok(reserve), "INVALID_PRICE")
        need(aid not in self.auction_ids, "DUPLICATE_ID")
        h = actor.hold(sym)
        need(h[0] >= qty, "INSUFFICIENT_HOLDINGS")
        h[0] -= qty
        h[1] += qty
        self.auction_ids.add(aid)
        self.auctions[aid] = dict(id=aid, reg=actor.id, sym=sym, qty=qty, reserve=reserve, open=True, bids=[])
        self.auction_order.append(aid)

    def c_auction_bid(self, f, actor_id):
        aid = f.id_("auction")
        bid = f.id_("id")
        price = f.dec("price")
        qty = f.int_("qty")
        actor = self.acct(actor_id)
        self.role(actor, "entity", "investor")
        auc = self.auctions.get(aid)
        need(auc is not None, "UNKNOWN_AUCTION")
        self.not_frozen(actor)
        self.open_day()
        need(auc["open"], "AUCTION_CLOSED")
        need(1 <= qty <= auc["qty"], "INVALID_QUANTITY")
        need(tick_ok(price), "INVALID_PRICE")
        need(price >= auc["reserve"], "PRICE_BELOW_RESERVE")
        need((actor.id, bid) not in self.bid_ids, "DUPLICATE_ID")
        price = price.quantize(CENT)
        need(actor.cash >= price * qty, "INSUFFICIENT_FUNDS")
        self.check_limit(actor, auc["sym"], qty)
        actor.cash -= price * qty
        actor.cash_locked += price * qty
        self.bid_ids.add((actor.id, bid))
        self.seq += 1
        auc["bids"].append(dict(acct=actor.id, id=bid, price=price, qty=qty, seq=self.seq))

    def c_auction_close(self, f, actor_id):
        aid = f.id_("auction")
        actor = self.acct(actor_id)
        self.role(actor, "regulator", "operator")
        auc = self.auctions.get(aid)
        need(auc is not None, "UNKNOWN_AUCTION")
        if actor.role == "regulator":
            need(auc["reg"] == actor.id, "NOT_PERMITTED")
        self.open_day()
        need(auc["open"], "AUCTION_CLOSED")
        self.clear_auction(auc)

    def clear_auction(self, auc):
        auc["open"] = False
        reg = self.accounts[auc["reg"]]
        sym = auc["sym"]
        bids = sorted(auc["bids"], key=lambda b: (-b["price"], b["seq"]))
        left = auc["qty"]
        fills = []
        for b in bids:
            if left == 0:
                break
            q = min(left, b["qty"])
            fills.append((b, q))
            left -= q
        clearing = min((b["price"] for b, q in fills), default=None)
        for b in bids:
            self.release_bid(b)
        rh = reg.hold(sym)
        for b, q in fills:
            buyer = self.accounts[b["acct"]]
            buyer.cash -= clearing * q
            buyer.hold(sym)[2] += q
            rh[1] -= q
            reg.cash += clearing * q
            self.trades.append({"date": self.day["date"], "mode": "auction", "instrument": sym,
                                "price": money(clearing), "qty": q, "buyer": buyer.id, "buy_id": b["id"],
                                "seller": reg.id, "sell_id": auc["id"]})
            self.stats(sym)["auction"] += q
        rh[1] -= left
        rh[0] += left
        auc["bids"] = []

    # ---- allocation
    def _alloc_common(self, f, actor_id):
        ent = f.id_("entity")
        year = f.int_("year")
        return ent, year

    def _alloc_checks(self, actor_id, ent, year):
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        e = self.acct(ent)
        need(e.role == "entity" and self.acts_on(actor, e), "NOT_PERMITTED")
        sym = "ZJEA-%d" % year
        self.instr(sym)
        need(year not in self.closed_years, "YEAR_CLOSED")
        return e, sym

    def _issue_alloc(self, e, sym, amount, rec):
        ded = min(self.deduction.get(e.id, 0), amount)
        if ded:
            self.deduction[e.id] -= ded
        n = amount - ded
        if n:
            e.hold(sym)[0] += n
            self.sup(sym)["issued"] += n
        rec["issued"] += n
        rec["deducted"] += ded

    def c_allocate_benchmark(self, f, actor_id):
        ent, year = self._alloc_common(f, actor_id)
        phase = f.enum("phase", ("pre", "final"))
        units = f.raw("units")
        need(isinstance(units, list), "MALFORMED")
        parsed = []
        for u in units:
            need(isinstance(u, dict), "MALFORMED")
            uf = Fields(u)
            fuel = uf.enum("fuel", ("coal", "gas"))
            qe = nonneg(uf.dec("power_mwh"))
            qh = nonneg(uf.dec("heat_gj"))
            be = nonneg(uf.dec("power_benchmark"))
            bh = nonneg(uf.dec("heat_benchmark"))
            lf = uf.dec("load_factor")
            need(0 <= lf <= 1, "MALFORMED")
            parsed.append((fuel, qe, qh, be, bh, lf))
        e, sym = self._alloc_checks(actor_id, ent, year)
        key = (ent, year)
        rec = self.allocations.get(key)
        rep = self.reports.get(key)
        if phase == "final":
            need(rep is not None and rep["status"] == "confirmed", "REPORT_NOT_CONFIRMED")
            need(rec is None or (rec["method"] == "benchmark" and rec["final"] is None), "ALLOCATION_EXISTS")
        else:
            need(rec is None, "ALLOCATION_EXISTS")
        A = Decimal(0)
        for fuel, qe, qh, be, bh, lf in parsed:
            ff = Decimal(1)
            if fuel == "coal" and lf < Decimal("0.65"):
                x = float(Decimal(16) - 20 * lf)
                ff = rnd(Decimal(repr(1.015 ** x)), 6)
            A += qe * be * ff + qh * bh
        if rec is None:
            rec = dict(method="benchmark", pre=None, final=None, issued=0, deducted=0, clawed_back=0)
            self.allocations[key] = rec
        if phase == "pre":
            amount = int(rnd(A * Decimal("0.70")))
            rec["pre"] = amount
            self._issue_alloc(e, sym, amount, rec)
        else:
            final = max(int(rnd(A)), int(rnd(Decimal("0.80") * rep["verified"])))
            rec["final"] = final
            diff = final - (rec["pre"] or 0)
            if diff >= 0:
                self._issue_alloc(e, sym, diff, rec)
            else:
                h = e.hold(sym)
                take = min(h[0], -diff)
                h[0] -= take
                self.sup(sym)["clawed_back"] += take
                rec["clawed_back"] += take
                rep["obligation"] += (-diff - take)

    def c_allocate_grandfather(self, f, actor_id):
        ent, year = self._alloc_common(f, actor_id)
        baseline = f.int_("baseline")
        need(baseline >= 0, "MALFORMED")
        decline = f.dec("decline")
        need(0 <= decline <= 1, "MALFORMED")
        e, sym = self._alloc_checks(actor_id, ent, year)
        need(baseline <= MAXQ, "INVALID_QUANTITY")
        key = (ent, year)
        need(key not in self.allocations, "ALLOCATION_EXISTS")
        amount = int(rnd(baseline * (1 - decline)))
        rec = dict(method="grandfather", pre=None, final=amount, issued=0, deducted=0, clawed_back=0)
        self.allocations[key] = rec
        self._issue_alloc(e, sym, amount, rec)

    # ---- MRV
    def c_define_factor_set(self, f, actor_id):
        fid = f.id_("id")
        grid = nonneg(f.dec("grid_tco2_per_mwh"))
        fuels = f.raw("fuels")
        need(isinstance(fuels, dict), "MALFORMED")
        fs = {}
        for name, v in fuels.items():
            need(isinstance(v, dict), "MALFORMED")
            vf = Fields(v)
            fs[name] = (nonneg(vf.dec("ncv_gj_per_unit")), nonneg(vf.dec("carbon_tc_per_gj")),
                        nonneg(vf.dec("oxidation")))
        actor = self.acct(actor_id)
        need(self.is_zj(actor), "NOT_PERMITTED")
        need(fid not in self.factor_sets, "FACTOR_SET_EXISTS")
        self.factor_sets[fid] = dict(grid=grid, fuels=fs)

    def c_submit_report(self, f, actor_id):
        year = f.int_("year")
        fsid = f.id_("factor_set")
        fuels = f.raw("fuels")
        need(isinstance(fuels, list), "MALFORMED")
        items = []
        for u in fuels:
            need(isinstance(u, dict), "MALFORMED")
            uf = Fields(u)
            name = uf.str_("fuel")
            cons = nonneg(uf.dec("consumption"))
            ncv = uf.dec("ncv", optional=True)
            car = uf.dec("carbon", optional=True)
            ox = uf.dec("oxidation", optional=True)
            for d in (ncv, car, ox):
                if d is not None:
                    nonneg(d)
            items.append((name, cons, ncv, car, ox))
        elec = nonneg(f.dec("electricity_mwh"))
        nonneg(f.dec("power_mwh"))
        nonneg(f.dec("heat_gj"))
        energy = f.raw("energy", optional=True)  # null counts as absent (15.5.4)
        if energy is None:
            energy = []
        need(isinstance(energy, list), "MALFORMED")
        lines = {}
        for u in energy:
            need(isinstance(u, dict), "MALFORMED")
            uf = Fields(u)
            carrier = uf.str_("carrier")
            need(carrier in ENERGY_COEF and carrier not in lines, "MALFORMED")
            lines[carrier] = nonneg(uf.dec("qty"))
        actor = self.acct(actor_id)
        self.role(actor, "entity")
        fs = self.factor_sets.get(fsid)
        need(fs is not None, "UNKNOWN_FACTOR_SET")
        for it in items:
            need(it[0] in fs["fuels"], "UNKNOWN_FACTOR_SET")
        need(year not in self.closed_years, "YEAR_CLOSED")
        key = (actor.id, year)
        rep = self.reports.get(key)
        need(rep is None or rep["status"] in ("submitted", "returned"), "REPORT_STATE")
        total = Fraction(0)
        for name, cons, ncv, car, ox in items:
            dn, dc, do = fs["fuels"][name]
            total += Fraction(cons) * Fraction(ncv if ncv is not None else dn) * \
                Fraction(car if car is not None else dc) * Fraction(ox if ox is not None else do)
        direct = int(rnd(total * 44 / 12))
        indirect = int(rnd(Fraction(elec) * Fraction(fs["grid"])))
        energy_use = int(rnd(sum((Fraction(q) * Fraction(ENERGY_COEF[c]) for c, q in lines.items()), Fraction(0))))
        self.reports[key] = dict(status="submitted", direct=direct, indirect=indirect, verified=None, obligation=0,
                                 energy=energy_use, verified_energy=None, energy_obligation=0)

    def _report(self, f, actor_id, role):
        ent = f.id_("entity")
        year = f.int_("year")
        return ent, year

    def c_verify_report(self, f, actor_id):
        ent = f.id_("entity")
        year = f.int_("year")
        ve = f.int_("verified_emissions", optional=True)
        vu = f.int_("verified_energy", optional=True)
        actor = self.acct(actor_id)
        self.role(actor, "verifier")
        self.acct(ent)
        rep = self.reports.get((ent, year))
        need(rep is not None, "REPORT_NOT_FOUND")
        need(year not in self.closed_years, "YEAR_CLOSED")
        need(rep["status"] == "submitted", "REPORT_STATE")
        if ve is not None:
            need(1 <= ve <= MAXQ, "INVALID_QUANTITY")
        if vu is not None:
            need(0 <= vu <= MAXQ, "INVALID_QUANTITY")
        rep["status"] = "verified"
        rep["verified"] = ve if ve is not None else rep["direct"]
        rep["verified_energy"] = vu if vu is not None else rep["energy"]

    def _reg_report(self, f, actor_id):
        ent = f.id_("entity")
        year = f.int_("year")
        actor = self.acct(actor_id)
        self.role(actor, "regulator")
        e = self.acct(ent)
        need(self.acts_on(actor, e), "NOT_PERMITTED")
        rep = self.reports.get((ent, year))
        need(rep is not None, "REPORT_NOT_FOUND")
        need(year not in self.closed_years, "YEAR_CLOSED")
        return rep

    def c_confirm_report(self, f, actor_id):
        rep = self._reg_report(f, actor_id)
        need(rep["status"] == "verified", "REPORT_STATE")
        rep["status"] = "confirmed"
        rep["obligation"] = rep["verified"]
        rep["energy_obligation"] = rep["verified_energy"]

    def c_return_report(self, f, actor_id):
        rep = self._reg_report(f, actor_id)
        need(rep["status"] in ("submitted", "verified"), "REPORT_STATE")
        rep["status"] = "returned"
        rep["verified"] = None
        rep["verified_energy"] = None

    # ---- compliance
    def c_surrender(self, f, actor_id):
        year = f.int_("year")
        sym = f.str_("instrument")
        qty = f.int_("qty")
        actor = self.acct(actor_id)
        self.role(actor, "entity")
        self.instr(sym)
        need(year not in self.closed_years, "YEAR_CLOSED")
        rep = self.reports.get((actor.id, year))
        need(rep is not None and rep["status"] == "confirmed", "REPORT_NOT_CONFIRMED")
        need(1 <= qty <= MAXQ, "INVALID_QUANTITY")
        if sym != "CCER":
            need(int(sym[5:]) <= year, "VINTAGE_NOT_ELIGIBLE")
        h = actor.hold(sym)
        need(h[0] >= qty, "INSUFFICIENT_HOLDINGS")
        if sym.startswith("ZJEU-"):  # 15.3: against the energy obligation
            done = self.energy_surrendered.get((actor.id, year), 0)
            need(done + qty <= rep["energy_obligation"], "EXCEEDS_OBLIGATION")
            h[0] -= qty
            self.energy_surrendered[(actor.id, year)] = done + qty
            self.sup(sym)["surrendered"] += qty
            return
        s = self.surrendered.setdefault((actor.id, year), [0, 0])
        ob = rep["obligation"]
        if sym == "CCER":
            need(s[1] + qty <= (ob * 5) // 100, "OFFSET_LIMIT_EXCEEDED")
        need(s[0] + qty <= ob, "EXCEEDS_OBLIGATION")
        h[0] -= qty
        s[0] += qty
        if sym == "CCER":
            s[1] += qty
        self.sup(sym)["surrendered"] += qty

    def c_close_year(self, f, actor_id):
        year = f.int_("year")
        actor = self.acct(actor_id)
        need(self.is_zj(actor), "NOT_PERMITTED")
        sym = "ZJEA-%d" % year
        ins = self.instr(sym)
        need(year not in self.closed_years, "YEAR_CLOSED")
        self.closed_years.add(year)
        avg = self.penalty_price(ins)
        eins = self.instruments.get("ZJEU-%d" % year)
        eavg = self.penalty_price(eins) if eins is not None else Decimal(0)  # 15.4: "0.00" if undefined
        for eid in sorted(a.id for a in self.accounts.values() if a.role == "entity"):
            rep = self.reports.get((eid, year))
            row = {"year": year, "entity": eid, "status": "C", "obligation": 0, "surrendered": 0,
                   "shortfall": 0, "penalty_min": "0.00", "penalty_max": "0.00",
                   "energy_obligation": 0, "energy_surrendered": 0, "energy_shortfall": 0,
                   "energy_penalty_min": "0.00", "energy_penalty_max": "0.00"}
            if rep is not None and rep["status"] == "confirmed":
                ob = rep["obligation"]
                sur = self.surrendered.get((eid, year), [0, 0])[0]
                short = max(0, ob - sur)
                eob = rep["energy_obligation"]
                esur = self.energy_surrendered.get((eid, year), 0)
                eshort = max(0, eob - esur)
                row.update(status="A" if short == 0 and eshort == 0 else "B",
                           obligation=ob, surrendered=sur, shortfall=short,
                           penalty_min=money(avg * short * 5), penalty_max=money(avg * short * 10),
                           energy_obligation=eob, energy_surrendered=esur, energy_shortfall=eshort,
                           energy_penalty_min=money(eavg * eshort * 5),
                           energy_penalty_max=money(eavg * eshort * 10))
                if short:
                    self.deduction[eid] = self.deduction.get(eid, 0) + short  # 9.3; never energy (15.5.3)
            self.compliance.append(row)

    def penalty_price(self, ins):
        """11: average of the last 22 closes since definition, rounded to 2 places; else the reference."""
        closes = ins["closes"][-22:]
        return rnd(Fraction(sum(closes, Decimal(0))) / len(closes), 2) if closes else ins["ref"]

    # ---------------------------------------------------------------- report
    def report(self, results):
        accounts = {}
        for aid, a in self.accounts.items():
            accounts[aid] = {
                "frozen": a.frozen,
                "cash": {"available": money(a.cash), "locked": money(a.cash_locked)},
                "holdings": {s: {"available": h[0], "locked": h[1], "pending": h[2]}
                             for s, h in sorted(a.h.items()) if any(h)},
            }
        supply = {}
        for s in sorted(self.instruments):
            x = self.sup(s)
            supply[s] = dict(x, outstanding=x["issued"] - x["surrendered"] - x["retired"] - x["clawed_back"])
        reports = [{"entity": e, "year": y, "status": r["status"], "direct": r["direct"],
                    "indirect": r["indirect"], "verified": r["verified"],
                    "energy": r["energy"], "verified_energy": r["verified_energy"]}
                   for (e, y), r in sorted(self.reports.items())]
        allocs = [{"entity": e, "year": y, "method": r["method"], "pre": r["pre"], "final": r["final"],
                   "issued": r["issued"], "deducted": r["deducted"], "clawed_back": r["clawed_back"]}
                  for (e, y), r in sorted(self.allocations.items())]
        supervision = {"limits": dict(self.limits), "halted": sorted(self.halted),
                       "groups": {g: list(m) for g, m in self.groups.items()}}
        return {"results": results, "trades": self.trades, "days": self.days, "accounts": accounts,
                "supply": supply, "compliance": self.compliance, "reports": reports, "allocations": allocs,
                "alerts": self.alerts, "supervision": supervision}


def _reject_constant(x):
    raise ValueError("non-JSON constant " + x)


def parse_json(line):
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None


def check_public_keys(obj):
    """REPLAY.md: a line giving a key other than the account's test key stops the replay."""
    def chk(aid, pk):
        if isinstance(pk, str) and HEX64_RE.fullmatch(pk) and isinstance(aid, str):
            if pk.lower() != test_public_key(aid):
                raise Abort("public key of %s is not its test key" % aid)
    if obj.get("cmd") == "genesis":
        chk(obj.get("operator"), obj.get("operator_public_key"))
        for r in obj.get("regulators") or []:
            if isinstance(r, dict):
                chk(r.get("id"), r.get("public_key"))
    elif obj.get("cmd") == "create_account":
        chk(obj.get("id"), obj.get("public_key"))


def genesis(obj):
    if not isinstance(obj, dict) or obj.get("cmd") != "genesis":
        raise Abort("first command line is not a genesis")
    op = obj.get("operator")
    regs = obj.get("regulators")
    if not (isinstance(op, str) and ID_RE.fullmatch(op)):
        raise Abort("bad operator")
    if not isinstance(regs, list) or not regs:
        raise Abort("bad regulators")
    ids = {op}
    out = []
    for r in regs:
        if not isinstance(r, dict):
            raise Abort("bad regulator")
        rid, jur = r.get("id"), r.get("jurisdiction")
        if not (isinstance(rid, str) and ID_RE.fullmatch(rid)) or rid in ids:
            raise Abort("bad regulator id")
        if not (isinstance(jur, str) and JUR_RE.fullmatch(jur)):
            raise Abort("bad jurisdiction")
        for k in ("public_key",):
            if r.get(k) is not None and not (isinstance(r[k], str) and HEX64_RE.fullmatch(r[k])):
                raise Abort("bad key")
        ids.add(rid)
        out.append((rid, jur))
    pk = obj.get("operator_public_key")
    if pk is not None and not (isinstance(pk, str) and HEX64_RE.fullmatch(pk)):
        raise Abort("bad key")
    check_public_keys(obj)
    return Market(op, out)


def apply_line(market, obj, n):
    """Applies one parsed command line (obj is None when it was not JSON)."""
    res = {"line": n, "ok": True}
    try:
        need(isinstance(obj, dict), "MALFORMED")
        cmd, actor = obj.get("cmd"), obj.get("as")
        need(isinstance(cmd, str), "MALFORMED")
        need(isinstance(actor, str) and ID_RE.fullmatch(actor) is not None, "MALFORMED")
        need(cmd in COMMANDS, "UNKNOWN_COMMAND")
        check_public_keys(obj)
        out = market.apply(cmd, Fields(obj), actor)
        if out is not None:
            res["order"] = out
    except Reject as r:
        res = {"line": n, "ok": False, "code": r.code}
    return res


def replay(text):
    market = None
    results = []
    for n, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip() == "" or line.startswith("#"):
            continue
        obj = parse_json(line)
        if market is None:
            market = genesis(obj)
            results.append({"line": n, "ok": True})
            continue
        results.append(apply_line(market, obj, n))
    if market is None:
        raise Abort("no genesis")
    return market.report(results)


def main(argv):
    if len(argv) != 2:
        print("usage: carbon_ref.py FILE.jsonl", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as fh:
            text = fh.read()
        rep = replay(text)
    except Abort as e:
        print("cannot replay: %s" % e, file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as e:
        print("cannot read: %s" % e, file=sys.stderr)
        return 2
    json.dump(rep, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
