"""The kit's tables against their sources: rulebook codes, proto messages, commands, RPCs."""

from __future__ import annotations

import dataclasses
import inspect
import re

import grpc

import carbon_ledger
from carbon_ledger import BY_CODE, CODE_TABLE, Rejected, client, commands, types
from carbon_ledger._pb import carbon_pb2 as pb
from carbon_ledger.errors import from_rpc_error

from conftest import REPO


def rust_codes() -> dict[str, str]:
    """ledger/src/code.rs: each code and its gRPC status class."""
    text = (REPO / "ledger" / "src" / "code.rs").read_text()
    spelled = dict(re.findall(r"Code::(\w+) => \"([A-Z_]+)\"", text))
    classes: dict[str, str] = {}
    for arm, cls in re.findall(r"\n\s*([\w\s|]+?)\s*=> StatusClass::(\w+)", text):
        for variant in arm.replace("|", " ").split():
            classes[variant] = cls
    snake = lambda s: re.sub(r"(?<!^)(?=[A-Z])", "_", s).upper()  # noqa: E731
    return {code: snake(classes.get(variant, "FailedPrecondition")) for variant, code in spelled.items()}


def test_one_exception_per_rulebook_code_with_its_grpc_status() -> None:
    codes = rust_codes()
    assert len(codes) == 39
    assert {c: s for c, s, _ in CODE_TABLE} == codes
    # RULEBOOK.md 12 names every one of them.
    section = (REPO / "docs" / "RULEBOOK.md").read_text().split("## 12. Errors")[1].split("## 13.")[0]
    assert set(re.findall(r"`([A-Z_]{4,})`", section)) >= set(codes)
    for code in codes:
        cls = BY_CODE[code]
        assert issubclass(cls, Rejected) and cls.code == code
        assert getattr(carbon_ledger, cls.__name__) is cls
    assert carbon_ledger.InsufficientHoldings.code == "INSUFFICIENT_HOLDINGS"
    assert carbon_ledger.PositionLimitExceeded.grpc_status == "FAILED_PRECONDITION"


class _Error(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str, trailing: tuple = ()) -> None:
        self._code, self._details, self._trailing = code, details, trailing

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple:
        return self._trailing


def test_a_status_with_a_rejection_becomes_the_codes_exception() -> None:
    details = pb.Rejection(code="INSUFFICIENT_FUNDS", message="rejected; journalled at seq 42 (its nonce is used up)")
    e = from_rpc_error(
        _Error(grpc.StatusCode.FAILED_PRECONDITION, "x", (("grpc-status-details-bin", details.SerializeToString()),))
    )
    assert isinstance(e, carbon_ledger.InsufficientFunds) and e.seq == 42 and e.sequenced
    refused = pb.Rejection(code="BAD_SIGNATURE", message="rejected before sequencing")
    e = from_rpc_error(
        _Error(grpc.StatusCode.UNAUTHENTICATED, "x", (("grpc-status-details-bin", refused.SerializeToString()),))
    )
    assert isinstance(e, carbon_ledger.BadSignature) and e.seq is None
    other = from_rpc_error(_Error(grpc.StatusCode.PERMISSION_DENIED, "not yours"), "/m")
    assert isinstance(other, carbon_ledger.RequestFailed) and other.status == grpc.StatusCode.PERMISSION_DENIED


def test_every_dataclass_has_every_field_of_its_message() -> None:
    for cls, message in types.MESSAGES.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        descriptor = message.DESCRIPTOR
        expected = set(descriptor.fields_by_name)
        for oneof in descriptor.oneofs:
            if not oneof.name.startswith("_"):  # proto3 optional's synthetic oneofs
                expected -= {f.name for f in oneof.fields}
                expected |= {"kind", "detail"}
        assert fields == expected, (cls.__name__, fields ^ expected)


def test_every_command_has_a_method() -> None:
    source = inspect.getsource(commands.Commands)
    bodies = {f.name for f in pb.Command.DESCRIPTOR.oneofs_by_name["body"].fields}
    sent = set(re.findall(r'self\._command\(\s*"(\w+)"', source))
    assert sent == bodies


def test_every_rpc_has_a_method() -> None:
    source = inspect.getsource(client.Ledger)
    for service in pb.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            name = f"{service.name}.{method.name}"
            assert (f"/carbon.v1.{service.name}/{method.name}" in source) or f".{method.name}(" in source, name


def test_prices_and_money_are_exact_decimals() -> None:
    m = pb.DaySummary(date="2026-03-02", instrument="ZJEA-2025", reference="58.00", close="58.20", turnover="5820.00")
    d = types.from_pb(types.DaySummary, m)
    assert d.open is None and str(d.close) == "58.20" and str(d.turnover) == "5820.00"
    with_open = types.from_pb(types.DaySummary, pb.DaySummary(open="58.10", reference="1", close="1", turnover="0"))
    assert str(with_open.open) == "58.10"
    a = types.from_pb(
        types.Alert, pb.Alert(date="d", price_move=pb.PriceMoveAlert(instrument="X", reference="1.00", close="1.05"))
    )
    assert a.kind == "price_move" and isinstance(a.detail, types.PriceMoveAlert) and str(a.detail.close) == "1.05"
    assert (
        types.from_pb(
            types.Account, pb.AccountView(role=pb.ROLE_INVESTOR, cash_available="1.00", cash_locked="0.00")
        ).role
        == "investor"
    )


def test_floats_never_become_prices() -> None:
    from decimal import Decimal

    import pytest

    assert commands.decimal_text(Decimal("58.20")) == "58.20"
    assert commands.decimal_text(Decimal("1E+2")) == "100"
    with pytest.raises(TypeError):
        commands.decimal_text(58.2)  # type: ignore[arg-type]
