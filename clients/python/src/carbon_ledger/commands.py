"""Every command of the rulebook, as a method (one per body of ``carbon.v1.Command``).

:class:`Commands` builds each command's protobuf body from typed arguments
and hands it to ``_command``; :class:`carbon_ledger.Ledger` signs and sends
it at once (a :class:`~carbon_ledger.types.CommandResult`), a
:class:`carbon_ledger.Batch` keeps it for one ``SubmitBatch`` (``None``).

Prices, amounts and measures are decimals: give them as ``str``,
:class:`~decimal.Decimal` or ``int``, never ``float`` (a ``TypeError``:
the ledger is exact, 0.1 + 0.2 is not). Quantities and years are ``int``.
Argument names are the rulebook's (RULEBOOK.md 4-15, REPLAY.md).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from ._pb import carbon_pb2 as pb

R = TypeVar("R")
Number = str | Decimal | int
Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
Tif = Literal["day", "ioc", "fok"]

_SIDES = {"buy": pb.SIDE_BUY, "sell": pb.SIDE_SELL}
_TYPES = {"limit": pb.ORDER_TYPE_LIMIT, "market": pb.ORDER_TYPE_MARKET}
_TIFS = {"day": pb.TIME_IN_FORCE_DAY, "ioc": pb.TIME_IN_FORCE_IOC, "fok": pb.TIME_IN_FORCE_FOK}
_ROLES = {
    "entity": pb.ROLE_ENTITY,
    "investor": pb.ROLE_INVESTOR,
    "verifier": pb.ROLE_VERIFIER,
    "auditor": pb.ROLE_AUDITOR,
    "operator": pb.ROLE_OPERATOR,
    "regulator": pb.ROLE_REGULATOR,
}
_PHASES = {"pre": pb.PHASE_PRE, "final": pb.PHASE_FINAL}
_FUELS = {"coal": pb.UNIT_FUEL_COAL, "gas": pb.UNIT_FUEL_GAS}


def decimal_text(value: Number) -> str:
    """A decimal as the wire carries it (``"58.20"``); floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"give decimals as str, Decimal or int, not {type(value).__name__} ({value!r})")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite decimal: {value}")
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"not a decimal: {value!r}")


def _enum(table: Mapping[str, int], value: str, what: str) -> Any:
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{what} is one of {', '.join(table)}, not {value!r}") from None


@dataclass(frozen=True)
class GeneratingUnit:
    """One unit of a benchmark allocation (RULEBOOK.md 9.1)."""

    fuel: Literal["coal", "gas"]
    power_mwh: Number
    heat_gj: Number
    power_benchmark: Number
    heat_benchmark: Number
    load_factor: Number

    def to_pb(self) -> pb.GeneratingUnit:
        return pb.GeneratingUnit(
            fuel=_enum(_FUELS, self.fuel, "fuel"),
            power_mwh=decimal_text(self.power_mwh),
            heat_gj=decimal_text(self.heat_gj),
            power_benchmark=decimal_text(self.power_benchmark),
            heat_benchmark=decimal_text(self.heat_benchmark),
            load_factor=decimal_text(self.load_factor),
        )


@dataclass(frozen=True)
class FuelFactors:
    """Default factors of one fuel in a factor set (RULEBOOK.md 10)."""

    ncv_gj_per_unit: Number
    carbon_tc_per_gj: Number
    oxidation: Number

    def to_pb(self) -> pb.FuelFactors:
        return pb.FuelFactors(
            ncv_gj_per_unit=decimal_text(self.ncv_gj_per_unit),
            carbon_tc_per_gj=decimal_text(self.carbon_tc_per_gj),
            oxidation=decimal_text(self.oxidation),
        )


@dataclass(frozen=True)
class FuelUse:
    """One fuel line of a report; measured values replace the factor set's."""

    fuel: str
    consumption: Number
    ncv: Number | None = None
    carbon: Number | None = None
    oxidation: Number | None = None

    def to_pb(self) -> pb.FuelUse:
        m = pb.FuelUse(fuel=self.fuel, consumption=decimal_text(self.consumption))
        for name in ("ncv", "carbon", "oxidation"):
            value = getattr(self, name)
            if value is not None:
                setattr(m, name, decimal_text(value))
        return m


_ids = itertools.count(1)


def new_id(prefix: str = "py") -> str:
    """A fresh order, proposal or bid id (ids are unique per account, forever)."""
    return f"{prefix}{time.time_ns() // 1000:x}-{next(_ids)}"[:36]


class Commands(Generic[R]):
    """The commands of RULEBOOK.md; subclasses say what ``_command`` does with each."""

    def _command(self, body: str, message: Any, id: str | None = None) -> R:
        raise NotImplementedError

    # ---------------------------------------------------------- registry (8)

    def create_account(
        self,
        id: str,
        role: Literal["entity", "investor", "verifier", "auditor"],
        public_key: bytes,
        jurisdiction: str | None = None,
    ) -> R:
        """A regulator opens an account with its 32-byte ed25519 public key."""
        m = pb.CreateAccount(id=id, role=_enum(_ROLES, role, "role"), public_key=public_key)
        if jurisdiction is not None:
            m.jurisdiction = jurisdiction
        return self._command("create_account", m)

    def define_instrument(self, symbol: str, reference_price: Number) -> R:
        """The operator lists ``ZJEA-<year>``, ``ZJEU-<year>`` or ``CCER``."""
        return self._command(
            "define_instrument", pb.DefineInstrument(symbol=symbol, reference_price=decimal_text(reference_price))
        )

    def deposit(self, account: str, amount: Number) -> R:
        """The operator credits cash (CNY, at most 2 decimals)."""
        return self._command("deposit", pb.Deposit(account=account, amount=decimal_text(amount)))

    def withdraw(self, account: str, amount: Number) -> R:
        """The operator pays cash out of an account's available cash."""
        return self._command("withdraw", pb.Withdraw(account=account, amount=decimal_text(amount)))

    def issue(self, instrument: str, to: str, qty: int) -> R:
        """A regulator creates units into ``to``'s available holdings."""
        return self._command("issue", pb.Issue(instrument=instrument, to=to, qty=qty))

    def transfer(self, instrument: str, to: str, qty: int) -> R:
        """A registry transfer (not a trade) from the actor's available holdings."""
        return self._command("transfer", pb.Transfer(instrument=instrument, to=to, qty=qty))

    def retire(self, instrument: str, qty: int, beneficiary: str) -> R:
        """Voluntary cancellation on behalf of ``beneficiary``."""
        return self._command("retire", pb.Retire(instrument=instrument, qty=qty, beneficiary=beneficiary))

    def freeze(self, account: str) -> R:
        return self._command("freeze", pb.Freeze(account=account))

    def unfreeze(self, account: str) -> R:
        return self._command("unfreeze", pb.Unfreeze(account=account))

    # ---------------------------------------------------------- trading (4-7)

    def open_day(self, date: str) -> R:
        """The operator opens a trading day (``YYYY-MM-DD``)."""
        return self._command("open_day", pb.OpenDay(date=date))

    def close_day(self) -> R:
        """The operator closes the open day: auctions clear, orders expire, pending becomes available."""
        return self._command("close_day", pb.CloseDay())

    def order(
        self,
        instrument: str,
        side: Side,
        qty: int,
        price: Number | None = None,
        *,
        type: OrderType | None = None,
        tif: Tif | None = None,
        id: str | None = None,
    ) -> R:
        """An order on the book: a limit order with ``price`` (``tif`` ``day`` by
        default), else a market order (``ioc`` by default). ``id`` defaults to
        a fresh one (the result carries it)."""
        kind = type or ("limit" if price is not None else "market")
        tif = tif or ("day" if kind == "limit" else "ioc")
        id = id or new_id("o")
        m = pb.PlaceOrder(
            id=id,
            instrument=instrument,
            side=_enum(_SIDES, side, "side"),
            type=_enum(_TYPES, kind, "type"),
            tif=_enum(_TIFS, tif, "tif"),
            qty=qty,
        )
        if price is not None:
            m.price = decimal_text(price)
        return self._command("order", m, id)

    def buy(
        self, instrument: str, qty: int, price: Number | None = None, *, tif: Tif | None = None, id: str | None = None
    ) -> R:
        """A buy order: limit with ``price``, market without."""
        return self.order(instrument, "buy", qty, price, tif=tif, id=id)

    def sell(
        self, instrument: str, qty: int, price: Number | None = None, *, tif: Tif | None = None, id: str | None = None
    ) -> R:
        """A sell order: limit with ``price``, market without."""
        return self.order(instrument, "sell", qty, price, tif=tif, id=id)

    def cancel(self, id: str, account: str | None = None) -> R:
        """Cancels a resting order: its owner gives ``id``; the operator ``account`` too."""
        m = pb.CancelOrder(id=id)
        if account is not None:
            m.account = account
        return self._command("cancel", m, id)

    def block_propose(
        self, instrument: str, side: Side, counterparty: str, qty: int, price: Number, *, id: str | None = None
    ) -> R:
        """A block trade proposal (100,000 t and more) to ``counterparty``."""
        id = id or new_id("b")
        m = pb.BlockPropose(
            id=id,
            instrument=instrument,
            side=_enum(_SIDES, side, "side"),
            counterparty=counterparty,
            qty=qty,
            price=decimal_text(price),
        )
        return self._command("block_propose", m, id)

    def block_accept(self, proposer: str, id: str) -> R:
        """The named counterparty accepts; it settles at once."""
        return self._command("block_accept", pb.BlockAccept(proposer=proposer, id=id), id)

    def block_cancel(self, id: str) -> R:
        return self._command("block_cancel", pb.BlockCancel(id=id), id)

    def auction_open(self, id: str, instrument: str, qty: int, reserve_price: Number) -> R:
        """A regulator auctions ``qty`` of its own holdings (uniform price)."""
        m = pb.AuctionOpen(id=id, instrument=instrument, qty=qty, reserve_price=decimal_text(reserve_price))
        return self._command("auction_open", m, id)

    def auction_bid(self, auction: str, price: Number, qty: int, *, id: str | None = None) -> R:
        id = id or new_id("a")
        return self._command(
            "auction_bid", pb.AuctionBid(auction=auction, id=id, price=decimal_text(price), qty=qty), id
        )

    def auction_close(self, auction: str) -> R:
        return self._command("auction_close", pb.AuctionClose(auction=auction), auction)

    # ---------------------------------------------------------- allocation (9)

    def allocate_benchmark(
        self, entity: str, year: int, phase: Literal["pre", "final"], units: Sequence[GeneratingUnit]
    ) -> R:
        m = pb.AllocateBenchmark(
            entity=entity, year=year, phase=_enum(_PHASES, phase, "phase"), units=[u.to_pb() for u in units]
        )
        return self._command("allocate_benchmark", m)

    def allocate_grandfather(self, entity: str, year: int, baseline: int, decline: Number) -> R:
        m = pb.AllocateGrandfather(entity=entity, year=year, baseline=baseline, decline=decimal_text(decline))
        return self._command("allocate_grandfather", m)

    # ---------------------------------------------------------- MRV (10, 15.2)

    def define_factor_set(self, id: str, grid_tco2_per_mwh: Number, fuels: Mapping[str, FuelFactors]) -> R:
        m = pb.DefineFactorSet(id=id, grid_tco2_per_mwh=decimal_text(grid_tco2_per_mwh))
        for name, factors in fuels.items():
            m.fuels[name].CopyFrom(factors.to_pb())
        return self._command("define_factor_set", m, id)

    def submit_report(
        self,
        year: int,
        factor_set: str,
        fuels: Iterable[FuelUse] = (),
        electricity_mwh: Number = "0",
        power_mwh: Number = "0",
        heat_gj: Number = "0",
        energy: Mapping[str, Number] | None = None,
    ) -> R:
        """An entity's emission report; ``energy`` maps carriers to quantities (15.2)."""
        m = pb.SubmitReport(
            year=year,
            factor_set=factor_set,
            fuels=[f.to_pb() for f in fuels],
            electricity_mwh=decimal_text(electricity_mwh),
            power_mwh=decimal_text(power_mwh),
            heat_gj=decimal_text(heat_gj),
            energy=[pb.EnergyUse(carrier=c, qty=decimal_text(q)) for c, q in (energy or {}).items()],
        )
        return self._command("submit_report", m)

    def verify_report(
        self, entity: str, year: int, verified_emissions: int | None = None, verified_energy: int | None = None
    ) -> R:
        m = pb.VerifyReport(entity=entity, year=year)
        if verified_emissions is not None:
            m.verified_emissions = verified_emissions
        if verified_energy is not None:
            m.verified_energy = verified_energy
        return self._command("verify_report", m)

    def confirm_report(self, entity: str, year: int) -> R:
        return self._command("confirm_report", pb.ConfirmReport(entity=entity, year=year))

    def return_report(self, entity: str, year: int) -> R:
        return self._command("return_report", pb.ReturnReport(entity=entity, year=year))

    # ---------------------------------------------------------- compliance (11, 15.3)

    def surrender(self, year: int, instrument: str, qty: int) -> R:
        """Allowances or offsets against ``year``'s carbon obligation, ``ZJEU`` against its energy one."""
        return self._command("surrender", pb.Surrender(year=year, instrument=instrument, qty=qty))

    def close_year(self, year: int) -> R:
        return self._command("close_year", pb.CloseYear(year=year))

    # ---------------------------------------------------------- supervision (14)

    def set_position_limits(self, entity_extra: int, investor: int) -> R:
        return self._command("set_position_limits", pb.SetPositionLimits(entity_extra=entity_extra, investor=investor))

    def halt(self, instrument: str) -> R:
        return self._command("halt", pb.Halt(instrument=instrument))

    def resume(self, instrument: str) -> R:
        return self._command("resume", pb.Resume(instrument=instrument))

    def declare_group(self, id: str, members: Sequence[str]) -> R:
        return self._command("declare_group", pb.DeclareGroup(id=id, members=list(members)), id)
