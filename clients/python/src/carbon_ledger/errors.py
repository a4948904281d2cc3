"""Errors: rejections carry the rulebook's code (RULEBOOK.md 12).

Every code of the rulebook has its exception class, made from the table
below and named after the code (``INSUFFICIENT_HOLDINGS`` is
:class:`InsufficientHoldings`); all subclass :class:`Rejected`, so a caller
catches one code, a gRPC class of codes (``Rejected.grpc_status``) or all::

    try:
        ledger.buy("ZJEA-2025", 100, "58.20")
    except carbon_ledger.InsufficientFunds as e:
        print(e.code, e.message, e.seq)   # INSUFFICIENT_FUNDS, why, journal position

A rejected command that was sequenced used up its nonce (``seq`` is its
journal position); one refused before sequencing (``MALFORMED``,
``UNKNOWN_COMMAND``, ``UNKNOWN_ACCOUNT``, ``BAD_SIGNATURE``, ``REPLAYED``)
did not (``seq`` is ``None``). Everything else the server refuses (a read
not allowed, a limit, a server that is down) is :class:`RequestFailed` with
the gRPC status.
"""

from __future__ import annotations

import re
from typing import Any

import grpc

from ._pb import carbon_pb2 as pb

# (code, gRPC status, what it means): RULEBOOK.md 12, in its order of checks.
CODE_TABLE: tuple[tuple[str, str, str], ...] = (
    ("MALFORMED", "INVALID_ARGUMENT", "the command or one of its fields is badly formed"),
    ("UNKNOWN_COMMAND", "INVALID_ARGUMENT", "the command is not one the server knows"),
    ("UNKNOWN_ACCOUNT", "NOT_FOUND", "the actor or a named account does not exist"),
    ("BAD_SIGNATURE", "UNAUTHENTICATED", "the signature is not the actor's over this ledger and payload"),
    ("REPLAYED", "ALREADY_EXISTS", "the nonce is not above the account's last one"),
    ("NOT_PERMITTED", "PERMISSION_DENIED", "the actor's role or jurisdiction does not allow it"),
    ("UNKNOWN_INSTRUMENT", "NOT_FOUND", "no such instrument"),
    ("UNKNOWN_ORDER", "NOT_FOUND", "no such resting order"),
    ("UNKNOWN_PROPOSAL", "NOT_FOUND", "no such open block proposal"),
    ("UNKNOWN_AUCTION", "NOT_FOUND", "no such auction"),
    ("UNKNOWN_FACTOR_SET", "NOT_FOUND", "no such factor set"),
    ("REPORT_NOT_FOUND", "NOT_FOUND", "no report of that entity and year"),
    ("ACCOUNT_FROZEN", "PERMISSION_DENIED", "the account is frozen"),
    ("MARKET_CLOSED", "FAILED_PRECONDITION", "no trading day is open"),
    ("MARKET_HALTED", "FAILED_PRECONDITION", "trading in the instrument is halted"),
    ("MARKET_OPEN", "FAILED_PRECONDITION", "a trading day is open"),
    ("INVALID_DATE", "INVALID_ARGUMENT", "the date is not after every earlier trading day"),
    ("YEAR_CLOSED", "FAILED_PRECONDITION", "the compliance year is closed"),
    ("REPORT_STATE", "FAILED_PRECONDITION", "the report is not in a state that allows it"),
    ("REPORT_NOT_CONFIRMED", "FAILED_PRECONDITION", "the entity has no confirmed report for the year"),
    ("AUCTION_CLOSED", "FAILED_PRECONDITION", "the auction is closed"),
    ("INVALID_QUANTITY", "INVALID_ARGUMENT", "a quantity is out of its range"),
    ("INVALID_PRICE", "INVALID_ARGUMENT", "a price is not a positive multiple of 0.01"),
    ("INVALID_AMOUNT", "INVALID_ARGUMENT", "an amount is not positive with at most 2 decimals"),
    ("INVALID_ORDER", "INVALID_ARGUMENT", "the order's type, time in force or counterparty is not allowed"),
    ("PRICE_OUT_OF_BAND", "INVALID_ARGUMENT", "the price is outside the day's band"),
    ("PRICE_BELOW_RESERVE", "INVALID_ARGUMENT", "the bid is below the auction's reserve price"),
    ("VINTAGE_NOT_ELIGIBLE", "FAILED_PRECONDITION", "the vintage cannot meet that year's obligation"),
    ("DUPLICATE_ID", "ALREADY_EXISTS", "the id was used before"),
    ("ACCOUNT_EXISTS", "ALREADY_EXISTS", "the account exists"),
    ("INSTRUMENT_EXISTS", "ALREADY_EXISTS", "the instrument exists"),
    ("FACTOR_SET_EXISTS", "ALREADY_EXISTS", "the factor set exists"),
    ("ALLOCATION_EXISTS", "ALREADY_EXISTS", "an allocation of that kind exists for the entity and year"),
    ("GROUP_CONFLICT", "ALREADY_EXISTS", "a member already belongs to a group"),
    ("INSUFFICIENT_HOLDINGS", "FAILED_PRECONDITION", "not enough available units"),
    ("INSUFFICIENT_FUNDS", "FAILED_PRECONDITION", "not enough available cash"),
    ("POSITION_LIMIT_EXCEEDED", "FAILED_PRECONDITION", "the buying exposure would pass the position limit"),
    ("OFFSET_LIMIT_EXCEEDED", "FAILED_PRECONDITION", "CCER beyond 5% of the obligation"),
    ("EXCEEDS_OBLIGATION", "FAILED_PRECONDITION", "more than the remaining obligation"),
)

_SEQ = re.compile(r"journalled at seq (\d+)")


class CarbonError(Exception):
    """Anything this kit raises about the server's answers."""


class RequestFailed(CarbonError):
    """A call the server refused or could not answer, without a rulebook code."""

    def __init__(self, status: grpc.StatusCode, details: str, method: str = "") -> None:
        super().__init__(f"{method + ': ' if method else ''}{status.name}: {details}")
        self.status = status
        self.details = details
        self.method = method


class Rejected(CarbonError):
    """A command (or a read) rejected with a code of RULEBOOK.md 12."""

    code: str = ""
    grpc_status: str = ""

    def __init__(self, message: str = "", *, code: str | None = None, seq: int | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(f"{self.code}: {message}" if message else self.code)
        self.message = message
        self.seq = seq

    @property
    def sequenced(self) -> bool:
        """True when the command was journalled (with this code) and used up its nonce."""
        return self.seq is not None


def _class_name(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_"))


BY_CODE: dict[str, type[Rejected]] = {}
for _code, _status, _doc in CODE_TABLE:
    _cls = type(
        _class_name(_code),
        (Rejected,),
        {
            "code": _code,
            "grpc_status": _status,
            "__doc__": f"{_code}: {_doc} (gRPC {_status}).",
            "__module__": __name__,
        },
    )
    BY_CODE[_code] = _cls
    globals()[_cls.__name__] = _cls

__all__ = ["CODE_TABLE", "BY_CODE", "CarbonError", "RequestFailed", "Rejected", "rejection"] + [
    _class_name(c) for c, _, _ in CODE_TABLE
]


def __getattr__(name: str) -> type[Rejected]:
    """Only for type checkers: the classes above are real module attributes,
    so this runs only for names that do not exist."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rejection(code: str, message: str = "", seq: int | None = None) -> Rejected:
    """The exception of ``code`` (a plain :class:`Rejected` for a code this kit does not know)."""
    cls = BY_CODE.get(code)
    return cls(message, seq=seq) if cls else Rejected(message, code=code, seq=seq)


def from_rpc_error(error: grpc.RpcError, method: str = "") -> CarbonError:
    """The exception of a failed call: :class:`Rejected` when the status
    details carry a ``Rejection``, else :class:`RequestFailed`."""
    call: Any = error
    status: grpc.StatusCode = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    details: str = (call.details() if hasattr(call, "details") else None) or ""
    trailing = call.trailing_metadata() if hasattr(call, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            try:
                r = pb.Rejection.FromString(value)
            except Exception:  # noqa: BLE001 - not a Rejection: fall through
                break
            if r.code:
                m = _SEQ.search(r.message)
                return rejection(r.code, r.message, int(m.group(1)) if m else None)
    return RequestFailed(status, details, method)
