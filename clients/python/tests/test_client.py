"""The client against a real server: commands, rejections, nonces, batches, reads and streams."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import grpc
import pytest

import carbon_ledger
from carbon_ledger import Ledger, RequestFailed, Subscription, proofs

from conftest import OPERATOR, Server
from market import DAY, YEAR, ZJEA, confirm_report, open_market


def test_the_ledger_id_is_the_genesis_leaf_hash(server: Server) -> None:
    zj = server.as_("ZJ-DEE")
    assert proofs.leaf_hash(zj.inclusion_proof(0).entry) == zj.ledger_id
    assert Ledger(server.url).ledger_id == zj.ledger_id  # public


def test_rejections_raise_the_codes_exception(server: Server) -> None:
    open_market(server)
    steel = server.as_("HZ-STEEL")
    with pytest.raises(carbon_ledger.InsufficientHoldings) as e:
        steel.transfer(ZJEA, "NB-POWER", 601)
    assert e.value.sequenced and e.value.code == "INSUFFICIENT_HOLDINGS"
    with pytest.raises(carbon_ledger.PriceOutOfBand):
        steel.buy(ZJEA, 10, "70.00")
    server.as_(OPERATOR).set_position_limits(entity_extra=0, investor=500)
    with pytest.raises(carbon_ledger.PositionLimitExceeded):
        server.as_("HZ-TRADER").buy(ZJEA, 1, "58.00")  # it holds 1,000 t, its limit is 500
    with pytest.raises(carbon_ledger.NotPermitted):
        steel.open_day("2026-03-03")
    with pytest.raises(carbon_ledger.Rejected):
        steel.cancel("no-such-order")
    # A rejection uses up the nonce; the next command goes through.
    result = steel.transfer(ZJEA, "NB-POWER", 1)
    assert result.ok and result.seq > 0 and result.nonce == steel.account().last_nonce


def test_nonces_start_from_the_accounts_last_and_survive_another_writer(server: Server) -> None:
    open_market(server)
    one = Ledger(server.url, server.key_file("HZ-STEEL"), "HZ-STEEL")
    two = Ledger(server.url, server.key_file("HZ-STEEL"), "HZ-STEEL")
    first = one.transfer(ZJEA, "NB-POWER", 1)
    second = two.transfer(ZJEA, "NB-POWER", 1)  # reads the last nonce: after one's
    assert second.nonce == first.nonce + 1
    # one's counter is now behind: its next nonce is REPLAYED, then re-signed.
    third = one.transfer(ZJEA, "NB-POWER", 1)
    assert third.nonce == second.nonce + 1
    strict = Ledger(server.url, server.key_file("HZ-STEEL"), "HZ-STEEL", replay_retries=0)
    strict.transfer(ZJEA, "NB-POWER", 1)
    one.transfer(ZJEA, "NB-POWER", 1)
    with pytest.raises(carbon_ledger.Replayed) as e:
        strict.transfer(ZJEA, "NB-POWER", 1)
    assert not e.value.sequenced
    assert server.as_("HZ-STEEL").account().holding(ZJEA).available == 600 - 5


def test_threads_share_one_client(server: Server) -> None:
    open_market(server)
    steel = server.as_("HZ-STEEL")
    errors: list[BaseException] = []

    def send() -> None:
        try:
            for _ in range(5):
                steel.transfer(ZJEA, "NB-POWER", 1)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert steel.account().holding(ZJEA).available == 600 - 20


class _LoseFirstAnswer:
    """Submits, then reports the call as failed: an answer lost on the way back."""

    def __init__(self, stub: Any) -> None:
        self._stub, self.lost = stub, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stub, name)

    def Submit(self, envelope: Any, timeout: float | None = None) -> Any:  # noqa: N802 - the RPC's name
        answer = self._stub.Submit(envelope, timeout=timeout)
        if self.lost == 0:
            self.lost += 1
            raise _Unavailable()
        return answer


class _Unavailable(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection reset (simulated)"

    def trailing_metadata(self) -> tuple:
        return ()


def test_a_lost_answer_is_looked_up_not_applied_twice(server: Server) -> None:
    open_market(server)
    steel = Ledger(server.url, server.key_file("HZ-STEEL"), "HZ-STEEL")
    lossy = _LoseFirstAnswer(steel._ledger)
    steel._ledger = lossy
    result = steel.transfer(ZJEA, "NB-POWER", 7)
    assert lossy.lost == 1 and result.ok
    assert server.as_("HZ-STEEL").lookup_command(result.nonce) is not None
    assert server.as_("HZ-STEEL").account().holding(ZJEA).available == 593  # once, not twice
    # A rejected command found after a lost answer raises its code.
    steel._ledger = lossy = _LoseFirstAnswer(steel._ledger._stub)
    with pytest.raises(carbon_ledger.InsufficientHoldings) as e:
        steel.transfer(ZJEA, "NB-POWER", 10_000)
    assert e.value.sequenced


def test_a_first_copy_sequenced_after_the_look_up_is_not_signed_anew(server: Server) -> None:
    """The lost call's envelope was still queued when the client looked it up:
    the resent copy is REPLAYED, and the client finds the first, not a new nonce."""
    open_market(server)
    steel = Ledger(server.url, server.key_file("HZ-STEEL"), "HZ-STEEL")
    real_stub, real_lookup = steel._ledger, steel.lookup_command
    queued: list[Any] = []

    class Stalled:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_stub, name)

        def Submit(self, envelope: Any, timeout: float | None = None) -> Any:  # noqa: N802 - the RPC's name
            if not queued:
                queued.append(envelope)
                raise _Unavailable()
            return real_stub.Submit(envelope, timeout=timeout)

    def lookup(nonce: int, actor: str | None = None) -> Any:
        if queued and queued[0] is not None:
            envelope, queued[0] = queued[0], None
            real_stub.Submit(envelope)  # the first copy leaves the queue now
            return None
        return real_lookup(nonce, actor)

    steel._ledger = Stalled()
    steel.lookup_command = lookup  # type: ignore[method-assign]
    result = steel.transfer(ZJEA, "NB-POWER", 9)
    assert result.ok and result.nonce == 1
    assert server.as_("HZ-STEEL").account().holding(ZJEA).available == 591  # once
    assert server.as_("HZ-STEEL").account().last_nonce == 1


@pytest.mark.parametrize("stream", [False, True])
def test_a_batch_is_sequenced_in_order_with_rejections_as_results(server: Server, stream: bool) -> None:
    open_market(server)
    steel = server.as_("HZ-STEEL")
    with steel.batch(stream=stream) as b:
        b.transfer(ZJEA, "NB-POWER", 100)
        b.transfer(ZJEA, "NB-POWER", 10_000)
        b.sell(ZJEA, 100, "58.50", id="ask-1")
    ok, short, order = b.results
    assert ok.ok and not short.ok and short.code == "INSUFFICIENT_HOLDINGS"
    assert isinstance(short.error, carbon_ledger.InsufficientHoldings)
    assert order.ok and order.id == "ask-1" and order.order is not None and order.order.status == "resting"
    assert [r.nonce for r in b.results] == [ok.nonce, ok.nonce + 1, ok.nonce + 2]
    assert ok.seq < short.seq < order.seq
    assert steel.transfer(ZJEA, "NB-POWER", 1).nonce == ok.nonce + 3


def test_reads(server: Server) -> None:
    open_market(server)
    confirm_report(server)
    steel, zj, hz = server.as_("HZ-STEEL"), server.as_("ZJ-DEE"), server.as_("HZ-EEB")
    server.as_("NB-POWER").sell(ZJEA, 50, "58.30", id="s1")
    server.as_("NB-POWER").sell(ZJEA, 20, "58.40", id="s2")
    bought = steel.buy(ZJEA, 60, "58.40", id="b1")
    assert [(t.price, t.qty) for t in bought.trades] == [(Decimal("58.30"), 50), (Decimal("58.40"), 10)]

    account = steel.account()
    assert (account.role, account.jurisdiction, account.holding(ZJEA).pending) == ("entity", "HZ", 60)
    assert account.cash_available == Decimal("10000000.00") - Decimal("58.30") * 50 - Decimal("58.40") * 10
    assert {s.instrument: s.issued for s in steel.supply()} == {ZJEA: 600 + 50_000 + 1_000}
    assert [(i.symbol, i.reference_price) for i in steel.instruments()] == [(ZJEA, Decimal("58.00"))]
    book = steel.book(ZJEA)
    assert (book.asks[0].price, book.asks[0].qty, book.bids, book.date) == (Decimal("58.40"), 10, [], DAY)
    assert (book.band_low, book.band_high) == (Decimal("52.20"), Decimal("63.80"))
    # Trades, a page at a time: names for regulators, none for the public.
    public = list(Ledger(server.url).trades(page_size=1))
    assert [(t.qty, t.buyer) for t in public] == [(50, ""), (10, "")]
    assert [t.buyer for t in hz.trades(instrument=ZJEA)] == ["HZ-STEEL", "HZ-STEEL"]
    assert [(o.id, o.remaining) for o in server.as_("NB-POWER").open_orders()] == [("s2", 10)]
    with pytest.raises(RequestFailed) as denied:
        steel.open_orders("NB-POWER")
    assert denied.value.status == grpc.StatusCode.PERMISSION_DENIED

    report = hz.report("HZ-STEEL", YEAR)
    assert (report.status, report.verified, report.history) == (
        "confirmed",
        1000,
        ["submitted", "verified", "confirmed"],
    )
    assert [(a.entity, a.method, a.issued) for a in zj.allocations(YEAR)] == [("HZ-STEEL", "grandfather", 600)]
    with pytest.raises(RequestFailed) as open_year:
        steel.compliance_table(YEAR)
    assert open_year.value.status == grpc.StatusCode.FAILED_PRECONDITION

    position = hz.position("HZ-STEEL")
    assert (position.position, position.quota, position.limit) == (660, 600, 1_000_600)
    assert [p.account for p in zj.large_holders()] == []
    server.as_(OPERATOR).halt(ZJEA)
    server.as_("HZ-EEB").declare_group("HZ-GRP1", ["HZ-STEEL", "HZ-TRADER"])
    sup = zj.supervision()
    assert (sup.halted, sup.groups[0].members, sup.entity_extra) == ([ZJEA], ["HZ-STEEL", "HZ-TRADER"], 1_000_000)
    with pytest.raises(carbon_ledger.MarketHalted):
        steel.buy(ZJEA, 1, "58.00")

    looked = steel.lookup_command(bought.nonce)
    assert looked is not None and looked.seq == bought.seq and looked.outcome.order == bought.order
    assert steel.lookup_command(10**9) is None
    cp = steel.checkpoint()
    c = steel.consistency_proof(5, cp.tree_size)
    assert proofs.verify_consistency(5, cp.tree_size, c.from_root, cp.root_hash, c.proof)
    with zj.journal(0) as entries:
        first = [next(entries) for _ in range(3)]
    assert [e.kind for e in first] == ["genesis", "command", "command"]
    assert (first[1].actor, first[1].command, first[1].outcome.ok) == ("HZ-EEB", "create_account", True)


def test_streams_are_iterators(server: Server) -> None:
    open_market(server)
    steel, nb = server.as_("HZ-STEEL"), server.as_("NB-POWER")
    executions = steel.executions()
    public = Ledger(server.url).market_data(ZJEA)
    named = server.as_("ZJ-DEE").market_data(ZJEA)
    alerts = server.as_("HZ-EEB").stream_alerts()
    try:
        nb.sell(ZJEA, 100, "58.10", id="s1")
        steel.buy(ZJEA, 100, "58.10", id="b1")

        ack = next(executions)
        assert ack.kind == "ack" and ack.detail.command == "order" and ack.detail.id == "b1"  # type: ignore[union-attr]
        trade = next(u for u in executions if u.kind == "trade")
        assert (trade.detail.seller, trade.detail.qty) == ("NB-POWER", 100)  # type: ignore[union-attr]

        def first_trade(updates: Subscription[Any]) -> Any:
            return next(u.detail for u in updates if u.kind == "trade")

        assert (first_trade(public).buyer, first_trade(named).buyer) == ("", "HZ-STEEL")
        # A group's members trading with each other: a related_trade alert, live.
        server.as_("HZ-EEB").declare_group("HZ-GRP1", ["HZ-STEEL", "HZ-TRADER"])
        server.as_("HZ-TRADER").sell(ZJEA, 5, "58.10")
        steel.buy(ZJEA, 5, "58.10")
        alert = next(alerts)
        assert alert.alert.kind == "related_trade" and alert.alert.detail.group == "HZ-GRP1"  # type: ignore[union-attr]
        listed = server.as_("HZ-EEB").alerts(kind="related_trade")
        assert [a.seq for a in listed.alerts] == [alert.seq] and not listed.truncated
    finally:
        for s in (executions, public, named, alerts):
            s.close()
    assert list(executions) == []  # closed: iteration ends


def test_a_stale_stream_reopens_from_where_it_stopped() -> None:
    class Stale(grpc.RpcError):
        def code(self) -> grpc.StatusCode:
            return grpc.StatusCode.UNAUTHENTICATED

        def details(self) -> str:
            return "the stream's credential went stale; reconnect with from_seq 3"

    class Call:
        def __init__(self, items: list[int], then: BaseException) -> None:
            self.items, self.then = iter(items), then

        def __next__(self) -> int:
            for i in self.items:
                return i
            raise self.then

        def cancel(self) -> None:
            pass

    opened: list[int | None] = []

    def open(last: int | None) -> Call:
        opened.append(last)
        return Call([1, 2], Stale()) if last is None else Call([3], StopIteration())

    assert list(Subscription(open, lambda x: x, "/m", reopen_when_stale=True)) == [1, 2, 3]
    assert opened == [None, 2]
    with pytest.raises(RequestFailed):
        list(Subscription(open, lambda x: x, "/m", reopen_when_stale=False))


def test_every_command_of_the_rulebook_goes_through(server: Server) -> None:
    """One call of each command method the other tests do not make."""
    open_market(server)
    op, zj, hz, nb = (server.as_(a) for a in (OPERATOR, "ZJ-DEE", "HZ-EEB", "NB-EEB"))
    steel, power, trader = server.as_("HZ-STEEL"), server.as_("NB-POWER"), server.as_("HZ-TRADER")
    op.withdraw("HZ-TRADER", "1.00")
    steel.retire(ZJEA, 1, "a tree")
    hz.freeze("HZ-TRADER")
    with pytest.raises(carbon_ledger.AccountFrozen):
        trader.transfer(ZJEA, "HZ-STEEL", 1)
    hz.unfreeze("HZ-TRADER")
    nb.issue(ZJEA, "NB-POWER", 60_000)
    power.block_propose(ZJEA, "sell", "HZ-TRADER", 100_000, "58.00", id="blk1")
    with pytest.raises(carbon_ledger.InsufficientHoldings):
        power.block_propose(ZJEA, "sell", "HZ-STEEL", 100_000, "58.00", id="blk2")  # 10,000 left unlocked
    power.block_cancel("blk1")
    power.block_propose(ZJEA, "sell", "HZ-TRADER", 100_000, "58.00", id="blk4")
    settled = trader.block_accept("NB-POWER", "blk4")
    assert settled.trades[0].mode == "block"
    hz.issue(ZJEA, "HZ-EEB", 500)
    hz.auction_open("auc1", ZJEA, 500, "50.00")
    trader.auction_bid("auc1", "55.00", 300)
    steel.auction_bid("auc1", "51.00", 300)
    cleared = hz.auction_close("auc1")
    assert [(t.buyer, t.qty, t.price) for t in cleared.trades] == [
        ("HZ-TRADER", 300, Decimal("51.00")),
        ("HZ-STEEL", 200, Decimal("51.00")),
    ]
    power.buy(ZJEA, 10, "58.00", id="rest1")
    op.cancel("rest1", account="NB-POWER")
    op.resume(ZJEA)  # not halted: accepted, changes nothing
    op.define_instrument("ZJEA-2026", "60.00")
    hz.allocate_benchmark(
        "HZ-STEEL", 2026, "pre", [carbon_ledger.GeneratingUnit("coal", "1000", "0", "0.7910", "0.1033", "0.80")]
    )
    assert server.as_("HZ-STEEL").account().holding("ZJEA-2026").available == round(1000 * 0.7910 * 0.70)
    steel.submit_report(YEAR, "FS-2025", energy={"coal": "1200.5", "electricity": "80000"})
    server.as_("ZJ-VER").verify_report("HZ-STEEL", YEAR, verified_emissions=500, verified_energy=10_700)
    hz.return_report("HZ-STEEL", YEAR)
    assert hz.report("HZ-STEEL", YEAR).status == "returned"
    op.close_day()
