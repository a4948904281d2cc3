"""What the server answers, as dataclasses.

Each class mirrors a message of ``carbon.proto`` field for field (a test
checks that none is missing), with these conversions:

* prices and money (``"58.20"``) are :class:`decimal.Decimal`, exact, as the
  ledger keeps them; quantities, tonnes and years are ``int``;
* a proto3 ``optional`` field that is absent is ``None``;
* roles are their rulebook names (``"entity"``), a ``oneof`` is the one
  dataclass it holds.

:func:`from_pb` does the conversion for any of them, driven by the type
hints; it never passes a number through floating point.
"""

from __future__ import annotations

import dataclasses
import sys
import types as _types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar, Union

from ._pb import carbon_pb2 as pb

T = TypeVar("T")

ROLES = {
    pb.ROLE_UNSPECIFIED: "",
    pb.ROLE_OPERATOR: "operator",
    pb.ROLE_REGULATOR: "regulator",
    pb.ROLE_ENTITY: "entity",
    pb.ROLE_INVESTOR: "investor",
    pb.ROLE_VERIFIER: "verifier",
    pb.ROLE_AUDITOR: "auditor",
}


# ------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class OrderResult:
    """How an order ended on entry: ``filled``, ``resting`` or ``cancelled``."""

    status: str
    filled: int


@dataclass(frozen=True)
class Trade:
    """A listed, block or auction trade; parties are empty where the caller may not see them."""

    date: str
    mode: str
    instrument: str
    price: Decimal
    qty: int
    buyer: str
    buy_id: str
    seller: str
    sell_id: str


@dataclass(frozen=True)
class DaySummary:
    """One instrument's closed trading day."""

    date: str
    instrument: str
    reference: Decimal
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal
    volume: int
    turnover: Decimal
    block_volume: int
    auction_volume: int


@dataclass(frozen=True)
class ComplianceRow:
    """One entity's line of a closed compliance year (carbon and energy)."""

    year: int
    entity: str
    status: str
    obligation: int
    surrendered: int
    shortfall: int
    penalty_min: Decimal
    penalty_max: Decimal
    energy_obligation: int
    energy_surrendered: int
    energy_shortfall: int
    energy_penalty_min: Decimal
    energy_penalty_max: Decimal


@dataclass(frozen=True)
class RelatedTradeAlert:
    group: str
    instrument: str
    mode: str
    price: Decimal
    qty: int
    buyer: str
    seller: str


@dataclass(frozen=True)
class PriceMoveAlert:
    instrument: str
    reference: Decimal
    close: Decimal


@dataclass(frozen=True)
class ConcentrationAlert:
    instrument: str
    account: str
    side: str
    qty: int
    volume: int


@dataclass(frozen=True)
class CancelRatioAlert:
    instrument: str
    account: str
    placed: int
    cancelled: int


@dataclass(frozen=True)
class LargeHolderAlert:
    account: str
    position: int
    threshold: int


AlertDetail = RelatedTradeAlert | PriceMoveAlert | ConcentrationAlert | CancelRatioAlert | LargeHolderAlert


@dataclass(frozen=True)
class Alert:
    """An alert of RULEBOOK.md 14.4: ``kind`` names ``detail``'s class (``"price_move"``...)."""

    date: str
    kind: str | None
    detail: AlertDetail | None


@dataclass(frozen=True)
class Event:
    """Something a command caused: ``kind`` is ``trade``, ``day``, ``compliance`` or ``alert``."""

    kind: str | None
    detail: Trade | DaySummary | ComplianceRow | Alert | None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: str
    order: OrderResult | None
    events: list[Event]


@dataclass(frozen=True)
class CommandResult:
    """A command's answer: journalled at ``seq`` (0: refused before sequencing).

    ``nonce`` and ``id`` (the order, proposal or bid id, when the command has
    one) are what this client sent, for :meth:`Ledger.lookup_command`.
    """

    seq: int
    outcome: Outcome
    nonce: int = 0
    id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def code(self) -> str:
        return self.outcome.code

    @property
    def order(self) -> OrderResult | None:
        return self.outcome.order

    @property
    def events(self) -> list[Event]:
        return self.outcome.events

    @property
    def error(self) -> Exception | None:
        """The code's :class:`~carbon_ledger.errors.Rejected` when rejected (in a batch), else ``None``."""
        if self.outcome.ok:
            return None
        from .errors import rejection

        return rejection(self.outcome.code, "rejected in a batch", self.seq or None)

    @property
    def trades(self) -> list[Trade]:
        return [e.detail for e in self.outcome.events if isinstance(e.detail, Trade)]

    @property
    def alerts(self) -> list[Alert]:
        return [e.detail for e in self.outcome.events if isinstance(e.detail, Alert)]


# ------------------------------------------------------------------ the ledger


@dataclass(frozen=True)
class Balance:
    instrument: str
    available: int
    locked: int
    pending: int

    @property
    def total(self) -> int:
        return self.available + self.locked + self.pending


@dataclass(frozen=True)
class Account:
    """An account's role, freeze, cash (CNY) and holdings (tonnes or tce)."""

    id: str
    role: str
    jurisdiction: str
    frozen: bool
    cash_available: Decimal
    cash_locked: Decimal
    holdings: list[Balance]
    public_key: bytes
    last_nonce: int

    def holding(self, instrument: str) -> Balance:
        """The balances of ``instrument`` (zeros when the account holds none)."""
        for b in self.holdings:
            if b.instrument == instrument:
                return b
        return Balance(instrument, 0, 0, 0)


@dataclass(frozen=True)
class Supply:
    instrument: str
    issued: int
    surrendered: int
    retired: int
    clawed_back: int
    outstanding: int


@dataclass(frozen=True)
class Instrument:
    symbol: str
    reference_price: Decimal


@dataclass(frozen=True)
class Checkpoint:
    """The latest signed checkpoint: the C2SP signed note ``text`` and its parts.

    ``tree_size`` and ``root_hash`` are the server's word; what a client
    trusts is the note checked with the operator's key
    (:func:`carbon_ledger.proofs.open_checkpoint`).
    """

    text: str
    tree_size: int
    root_hash: bytes
    ledger_id: bytes


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    entry: bytes
    leaf_hash: bytes
    path: list[bytes]
    root_hash: bytes


@dataclass(frozen=True)
class ConsistencyProof:
    from_size: int
    to_size: int
    from_root: bytes
    to_root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class LookupResult:
    """A journalled command: its position, the envelope as stored, its outcome."""

    seq: int
    payload: bytes
    signature: bytes
    outcome: Outcome


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry: ``kind`` is ``genesis``, ``command`` or ``state_digest``.

    For a command, ``actor``, ``nonce`` and ``command`` (the body's name,
    e.g. ``"order"``) are decoded from ``payload``, the signed bytes as stored.
    """

    seq: int
    prev_hash: bytes
    kind: str | None
    outcome: Outcome
    actor: str = ""
    nonce: int = 0
    command: str = ""
    payload: bytes = b""
    signature: bytes = b""


# ------------------------------------------------------------------ regulator


@dataclass(frozen=True)
class Report:
    """An emission report with every state it has been in, oldest first."""

    entity: str
    year: int
    status: str
    direct: int
    indirect: int
    verified: int | None
    history: list[str]
    energy: int
    verified_energy: int | None


@dataclass(frozen=True)
class Allocation:
    entity: str
    year: int
    method: str
    pre: int | None
    final: int | None
    issued: int
    deducted: int
    clawed_back: int


@dataclass(frozen=True)
class ComplianceLine:
    """A compliance row with the entity's jurisdiction."""

    jurisdiction: str
    row: ComplianceRow


# ------------------------------------------------------------------ market


@dataclass(frozen=True)
class Level:
    price: Decimal
    qty: int
    orders: int


@dataclass(frozen=True)
class Book:
    """An instrument's book (best levels first) and the day's band."""

    instrument: str
    bids: list[Level]
    asks: list[Level]
    reference: Decimal
    band_low: Decimal
    band_high: Decimal
    day_open: bool
    date: str | None
    halted: bool

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


@dataclass(frozen=True)
class OpenOrder:
    id: str
    instrument: str
    side: str
    price: Decimal
    remaining: int


@dataclass(frozen=True)
class CommandAck:
    """The outcome of one of the account's commands (or of a cancel or freeze by others)."""

    command: str
    id: str
    outcome: Outcome


@dataclass(frozen=True)
class MarketDataUpdate:
    """A trade, a book's top after a change, or a closed day (``kind``: ``trade``, ``book``, ``day``)."""

    seq: int
    kind: str | None
    detail: Trade | Book | DaySummary | None


@dataclass(frozen=True)
class ExecutionUpdate:
    """An account's update (``kind``: ``ack``, ``trade`` or ``day_closed``)."""

    seq: int
    kind: str | None
    detail: CommandAck | Trade | DaySummary | None


# ------------------------------------------------------------------ supervision


@dataclass(frozen=True)
class JournalAlert:
    seq: int
    alert: Alert


@dataclass(frozen=True)
class AlertList:
    """Alerts in journal order; ``truncated`` when the limit cut the list."""

    alerts: list[JournalAlert]
    truncated: bool


@dataclass(frozen=True)
class Position:
    """An account's standing under RULEBOOK.md 14.1."""

    account: str
    jurisdiction: str
    role: str
    position: int
    exposure: int
    quota: int | None
    limit: int | None
    threshold: int | None
    group: str


@dataclass(frozen=True)
class Group:
    id: str
    members: list[str]


@dataclass(frozen=True)
class Supervision:
    """What is in force: position limits, halted instruments, groups."""

    entity_extra: int
    investor: int
    halted: list[str]
    groups: list[Group]


# ------------------------------------------------------------------ conversion

# The dataclass of each message, for the test that no field is missing.
MESSAGES: dict[type, Any] = {
    OrderResult: pb.OrderResult,
    Trade: pb.Trade,
    DaySummary: pb.DaySummary,
    ComplianceRow: pb.ComplianceRow,
    RelatedTradeAlert: pb.RelatedTradeAlert,
    PriceMoveAlert: pb.PriceMoveAlert,
    ConcentrationAlert: pb.ConcentrationAlert,
    CancelRatioAlert: pb.CancelRatioAlert,
    LargeHolderAlert: pb.LargeHolderAlert,
    Alert: pb.Alert,
    Event: pb.Event,
    Outcome: pb.Outcome,
    Balance: pb.Balance,
    Account: pb.AccountView,
    Supply: pb.Supply,
    Instrument: pb.InstrumentView,
    Checkpoint: pb.Checkpoint,
    InclusionProof: pb.InclusionProof,
    ConsistencyProof: pb.ConsistencyProof,
    Report: pb.ReportView,
    Allocation: pb.AllocationView,
    ComplianceLine: pb.ComplianceLine,
    Level: pb.Level,
    Book: pb.BookView,
    OpenOrder: pb.OpenOrder,
    CommandAck: pb.CommandAck,
    MarketDataUpdate: pb.MarketDataUpdate,
    ExecutionUpdate: pb.ExecutionUpdate,
    JournalAlert: pb.JournalAlert,
    AlertList: pb.AlertList,
    Position: pb.PositionView,
    Group: pb.Group,
    Supervision: pb.SupervisionView,
}

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(sys.modules[__name__]))
    return _HINTS[cls]


def _convert(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, _types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for option in options:
            if isinstance(option, type) and MESSAGES.get(option) is type(value):
                return from_pb(option, value)
        if len(options) == 1:
            return _convert(options[0], value)
        raise TypeError(f"no dataclass of {hint} for {type(value).__name__}")
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if hint is Decimal:
        return Decimal(value) if value != "" else Decimal(0)
    if dataclasses.is_dataclass(hint):
        return from_pb(hint, value)  # type: ignore[arg-type]
    return value


def from_pb(cls: type[T], message: Any) -> T:
    """The dataclass ``cls`` of a protobuf ``message`` (see the module doc)."""
    hints = _hints(cls)
    descriptor = message.DESCRIPTOR
    values: dict[str, Any] = {}
    oneof = descriptor.oneofs[0] if descriptor.oneofs and descriptor.oneofs[0].name in ("kind",) else None
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = f.name
        if oneof is not None and name in ("kind", "detail"):
            which = message.WhichOneof(oneof.name)
            if name == "kind":
                values[name] = which
            else:
                values[name] = _convert(hints[name], getattr(message, which)) if which else None
            continue
        fd = descriptor.fields_by_name.get(name)
        if fd is None:
            continue  # a field this client adds (CommandResult.nonce)
        hint = hints[name]
        if fd.has_presence and fd.message_type is None and not message.HasField(name):
            values[name] = None
        elif fd.message_type is not None and not fd.is_repeated and not message.HasField(name):
            values[name] = None
        elif fd.enum_type is not None and fd.enum_type.name == "Role":
            values[name] = ROLES.get(getattr(message, name), str(getattr(message, name)))
        else:
            values[name] = _convert(hint, getattr(message, name))
    return cls(**values)


def command_result(message: pb.CommandResult, nonce: int = 0, id: str | None = None) -> CommandResult:
    """A ``CommandResult`` message as a dataclass."""
    return CommandResult(message.seq, outcome_of(message.outcome), nonce, id)


def outcome_of(message: pb.Outcome) -> Outcome:
    return from_pb(Outcome, message)


__all__ = [
    "OrderResult",
    "Trade",
    "DaySummary",
    "ComplianceRow",
    "RelatedTradeAlert",
    "PriceMoveAlert",
    "ConcentrationAlert",
    "CancelRatioAlert",
    "LargeHolderAlert",
    "Alert",
    "Event",
    "Outcome",
    "CommandResult",
    "Balance",
    "Account",
    "Supply",
    "Instrument",
    "Checkpoint",
    "InclusionProof",
    "ConsistencyProof",
    "LookupResult",
    "JournalEntry",
    "Report",
    "Allocation",
    "ComplianceLine",
    "Level",
    "Book",
    "OpenOrder",
    "CommandAck",
    "MarketDataUpdate",
    "ExecutionUpdate",
    "JournalAlert",
    "AlertList",
    "Position",
    "Group",
    "Supervision",
    "AlertDetail",
    "ROLES",
    "command_result",
    "from_pb",
    "outcome_of",
]
