"""``Ledger``: a typed client of one Carbon Ledger server, acting as one account.

::

    from carbon_ledger import Ledger, InsufficientFunds

    with Ledger("http://127.0.0.1:50051", "me.key", "HZ-STEEL") as ledger:
        print(ledger.account().holding("ZJEA-2025"))
        result = ledger.buy("ZJEA-2025", 100, "58.20")
        print(result.order, result.trades)

Commands (every method of :class:`~carbon_ledger.commands.Commands`) are
signed with the account's key for the server's ledger id and answered once
durable; a rejection raises the code's exception. Reads that are not public
carry a fresh read credential of the account (docs/ACCESS.md says which).

**Nonces** are the client's business: the first command reads the account's
last nonce (``GetAccount``) and counts up from there. One ``Ledger`` sends
one account's commands one at a time (a lock), since an earlier nonce
arriving after a later one would be ``REPLAYED``: share it between threads
freely. When another process signs for the same account, a command may come
back ``REPLAYED`` before it was sequenced: the client reads the last nonce
again and re-signs, up to ``replay_retries`` times. When a call fails without
an answer (``UNAVAILABLE``, a deadline), the command may or may not be in
the journal: the client asks ``LookupCommand`` for its nonce and resends the
*same* envelope only when it is not there, so a command is never applied
twice. For many commands, :meth:`Ledger.batch` sends them in order in one
``SubmitBatch`` (or pipelined on ``SubmitStream``).

**Streams** (market data, executions, alerts, the journal) are iterators;
``close()`` them (or use ``with``) to stop. A stream opened with a read
credential ends when it goes stale (60 s); the iterator reopens it with a
fresh one (alerts and the journal from where they stopped; executions may
miss what happened in between, which ``open_orders`` and ``account`` tell).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import grpc

from . import types as t
from ._pb import carbon_pb2 as pb
from ._pb import carbon_pb2_grpc as rpc
from .commands import Commands
from .errors import CarbonError, Rejected, RequestFailed, from_rpc_error, rejection
from .keys import Key
from .signing import Credentials, sign_command

T = TypeVar("T")

# The most one answer holds (server/src/limits.rs MAX_ANSWER_BYTES): an
# order may fill against 99,999 orders, ~39 MB of outcome.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Commands in one SubmitBatch (the server's limit).
MAX_BATCH = 4096
_RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _channel(url: str, ca: bytes | None) -> grpc.Channel:
    options = [("grpc.max_receive_message_length", MAX_ANSWER_BYTES)]
    if url.startswith("https://"):
        return grpc.secure_channel(url[len("https://") :], grpc.ssl_channel_credentials(ca), options)
    if url.startswith("http://"):
        return grpc.insecure_channel(url[len("http://") :], options)
    if ca is not None:
        return grpc.secure_channel(url, grpc.ssl_channel_credentials(ca), options)
    return grpc.insecure_channel(url, options)


class Subscription(Generic[T]):
    """A server stream as an iterator; ``close()`` ends it (also on leaving ``with``).

    ``open(resume)`` starts the call; when it ends because its read credential
    went stale it is opened again, ``resume`` being what was last received.
    """

    def __init__(
        self,
        open: Callable[[T | None], Any],
        convert: Callable[[Any], T],
        method: str,
        reopen_when_stale: bool,
    ) -> None:
        self._open = open
        self._convert = convert
        self._method = method
        self._reopen = reopen_when_stale
        self._last: T | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._call: Any = open(None)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while True:
            if self._closed:
                raise StopIteration
            try:
                item = self._convert(next(self._call))
            except StopIteration:
                self._closed = True
                raise
            except grpc.RpcError as e:
                if self._closed or e.code() == grpc.StatusCode.CANCELLED:
                    self._closed = True
                    raise StopIteration from None
                stale = e.code() == grpc.StatusCode.UNAUTHENTICATED and "stale" in (e.details() or "")
                if stale and self._reopen:
                    with self._lock:
                        self._call = self._open(self._last)
                    continue
                self._closed = True
                raise from_rpc_error(e, self._method) from e
            self._last = item
            return item

    def close(self) -> None:
        """Cancels the call; iteration stops."""
        self._closed = True
        with self._lock:
            self._call.cancel()

    def __enter__(self) -> Subscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Nonces:
    """The account's next nonce, read from the ledger when first needed."""

    def __init__(self, last: Callable[[], int]) -> None:
        self._last = last
        self._next: int | None = None

    def take(self, n: int = 1) -> int:
        """Reserves ``n`` consecutive nonces; returns the first."""
        if self._next is None:
            self._next = self._last() + 1
        first = self._next
        self._next += n
        return first

    def resync(self) -> None:
        self._next = None


class Ledger(Commands[t.CommandResult]):
    """A client of the server at ``url`` signing as ``actor`` with ``key_file``.

    ``url`` is ``http://host:port``, ``https://host:port`` (TLS; ``ca`` a PEM
    file to trust instead of the system's roots) or ``host:port``. Without a
    key, only public calls work (market data, supply, checkpoints, closed
    years' compliance). ``timeout`` bounds each unary call, in seconds.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:50051",
        key_file: str | os.PathLike[str] | None = None,
        actor: str | None = None,
        *,
        key: Key | None = None,
        ca: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
        replay_retries: int = 3,
    ) -> None:
        if key is None and key_file is not None:
            key = Key.from_file(key_file)
        if key is not None and not actor:
            raise ValueError("a key needs the account it belongs to: actor=")
        self.url = url
        self.key = key
        self.actor = actor or ""
        self.timeout = timeout
        self.replay_retries = replay_retries
        ca_pem = Path(ca).read_bytes() if ca is not None else None
        self._channel = _channel(url, ca_pem)
        self._ledger = rpc.LedgerStub(self._channel)
        self._regulator = rpc.RegulatorStub(self._channel)
        self._market = rpc.MarketStub(self._channel)
        self._supervision = rpc.SupervisionStub(self._channel)
        self._ledger_id: bytes | None = None
        self._credentials: Credentials | None = None
        self._send_lock = threading.RLock()
        self._nonces = _Nonces(self._last_nonce)

    # ---------------------------------------------------------- plumbing

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ledger_id(self) -> bytes:
        """The ledger's id (public, from ``GetCheckpoint``): what every signature is bound to."""
        if self._ledger_id is None:
            ledger_id = self.checkpoint().ledger_id
            if len(ledger_id) != 32:
                raise CarbonError("the server sent no ledger id; is it an older version?")
            self._ledger_id = ledger_id
        return self._ledger_id

    def _creds(self) -> Credentials:
        if self.key is None:
            raise CarbonError("this call needs a read credential: give Ledger a key_file and actor")
        if self._credentials is None:
            self._credentials = Credentials(self.key, self.actor, self.ledger_id)
        return self._credentials

    def _metadata(self, method: str, request: Any, signed: bool) -> list[tuple[str, str]] | None:
        if not signed:
            return None
        return self._creds().metadata(method, request.SerializeToString(deterministic=True))

    def _call(self, stub_call: Any, method: str, request: Any, signed: bool = True) -> Any:
        try:
            return stub_call(request, metadata=self._metadata(method, request, signed), timeout=self.timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, method) from e

    def _stream(
        self,
        stub_call: Any,
        method: str,
        request_for: Callable[[T | None], Any],
        convert: Callable[[Any], T],
        signed: bool,
    ) -> Subscription[T]:
        def open(last: T | None) -> Any:
            request = request_for(last)
            return stub_call(request, metadata=self._metadata(method, request, signed))

        try:
            return Subscription(open, convert, method, reopen_when_stale=signed)
        except grpc.RpcError as e:
            raise from_rpc_error(e, method) from e

    # ---------------------------------------------------------- commands

    def _last_nonce(self) -> int:
        try:
            return self.account().last_nonce
        except RequestFailed as e:
            # A credential of an account the ledger does not know yet: it
            # has sequenced nothing (its commands will be UNKNOWN_ACCOUNT).
            if e.status == grpc.StatusCode.UNAUTHENTICATED and "unknown account" in e.details:
                return 0
            raise

    def _signed(self, body: str, message: Any, nonce: int) -> pb.SignedCommand:
        if self.key is None:
            raise CarbonError("commands are signed: give Ledger a key_file and actor")
        command = pb.Command(actor=self.actor, nonce=nonce, **{body: message})
        return sign_command(self.key, self.ledger_id, command)

    def _command(self, body: str, message: Any, id: str | None = None) -> t.CommandResult:
        with self._send_lock:
            for attempt in range(self.replay_retries + 1):
                nonce = self._nonces.take()
                envelope = self._signed(body, message, nonce)
                try:
                    return self._deliver(envelope, nonce, id)
                except Rejected as e:
                    if e.code != "REPLAYED" or attempt == self.replay_retries:
                        raise
                    self._nonces.resync()  # another process used the account's nonces
            raise AssertionError("unreachable")

    def _deliver(self, envelope: pb.SignedCommand, nonce: int, id: str | None) -> t.CommandResult:
        """Submits one envelope. Resending the same envelope is always safe
        (one nonce is sequenced once); signing the command anew with another
        nonce is safe only once this one is known not to be journalled, so a
        call that failed without an answer is looked up first."""
        delay = 0.2
        for attempt in range(4):
            try:
                answer = self._ledger.Submit(envelope, timeout=self.timeout)
                return t.command_result(answer, nonce, id)
            except grpc.RpcError as e:
                error = from_rpc_error(e, "/carbon.v1.Ledger/Submit")
                lost = e.code() in _RETRYABLE
                # A resent envelope that is REPLAYED: the first copy may have
                # been sequenced after the look-up (it was still queued).
                echo = attempt > 0 and isinstance(error, Rejected) and error.code == "REPLAYED"
                if not (lost or echo) or attempt == 3:
                    raise error from e
            if lost:
                time.sleep(delay)
                delay *= 2
            try:
                found = self.lookup_command(nonce)
            except RequestFailed as e:
                if lost and e.status in _RETRYABLE:
                    continue  # still unknown: the same envelope may go again
                raise
            if found is None:
                if echo:
                    raise error  # the nonce went to a later one of ours: re-sign
                continue  # not journalled (yet): the same envelope may go again
            if found.payload != envelope.payload:
                raise rejection("REPLAYED", f"nonce {nonce} was used by another command of {self.actor}")
            result = t.CommandResult(found.seq, found.outcome, nonce, id)
            if not result.ok:
                raise rejection(result.code, "rejected (found in the journal after a lost answer)", found.seq)
            return result
        raise AssertionError("unreachable")

    def batch(self, *, stream: bool = False) -> Batch:
        """Commands sent together, in order, when the ``with`` block ends
        (or on :meth:`Batch.submit`): ``SubmitBatch``, or ``SubmitStream``
        pipelined with ``stream=True``. Rejections are results, not exceptions."""
        return Batch(self, stream)

    def _submit_many(self, items: list[tuple[str, Any, str | None]], stream: bool) -> list[t.CommandResult]:
        with self._send_lock:
            first = self._nonces.take(len(items))
            envelopes = [self._signed(body, m, first + i) for i, (body, m, _) in enumerate(items)]
            answers: list[Any] = []
            try:
                if stream:
                    answers = list(self._ledger.SubmitStream(iter(envelopes)))
                else:
                    for i in range(0, len(envelopes), MAX_BATCH):
                        request = pb.SubmitBatchRequest(commands=envelopes[i : i + MAX_BATCH])
                        answers.extend(self._ledger.SubmitBatch(request, timeout=self.timeout).results)
            except grpc.RpcError as e:
                self._nonces.resync()  # what became of the rest is LookupCommand's answer
                raise from_rpc_error(e, "/carbon.v1.Ledger/SubmitBatch") from e
            results = [t.command_result(a, first + i, items[i][2]) for i, a in enumerate(answers)]
            if any(r.code == "REPLAYED" for r in results):
                self._nonces.resync()
            return results

    # ---------------------------------------------------------- Ledger service

    def checkpoint(self) -> t.Checkpoint:
        """The latest signed checkpoint (public). Check it with :mod:`carbon_ledger.proofs`."""
        m = self._call(self._ledger.GetCheckpoint, "/carbon.v1.Ledger/GetCheckpoint", pb.GetCheckpointRequest(), False)
        return t.from_pb(t.Checkpoint, m)

    def account(self, id: str | None = None) -> t.Account:
        """An account (by default this client's): its own or its regulators' to read."""
        m = self._call(
            self._ledger.GetAccount, "/carbon.v1.Ledger/GetAccount", pb.GetAccountRequest(id=id or self.actor)
        )
        return t.from_pb(t.Account, m)

    def supply(self) -> list[t.Supply]:
        """Every instrument's supply (public)."""
        m = self._call(self._ledger.GetSupply, "/carbon.v1.Ledger/GetSupply", pb.GetSupplyRequest(), False)
        return [t.from_pb(t.Supply, s) for s in m.supply]

    def instruments(self) -> list[t.Instrument]:
        """Every listed instrument with its reference price (public)."""
        m = self._call(
            self._ledger.ListInstruments, "/carbon.v1.Ledger/ListInstruments", pb.ListInstrumentsRequest(), False
        )
        return [t.from_pb(t.Instrument, i) for i in m.instruments]

    def inclusion_proof(self, seq: int, tree_size: int = 0) -> t.InclusionProof:
        """Entry ``seq`` with its RFC 6962 path in the tree of ``tree_size`` entries (0: the latest checkpoint's)."""
        request = pb.InclusionProofRequest(seq=seq, tree_size=tree_size)
        return t.from_pb(
            t.InclusionProof, self._call(self._ledger.GetInclusionProof, "/carbon.v1.Ledger/GetInclusionProof", request)
        )

    def consistency_proof(self, from_size: int, to_size: int = 0) -> t.ConsistencyProof:
        """The RFC 6962 proof that the tree of ``to_size`` extends that of ``from_size`` (public)."""
        request = pb.ConsistencyProofRequest(from_size=from_size, to_size=to_size)
        m = self._call(self._ledger.GetConsistencyProof, "/carbon.v1.Ledger/GetConsistencyProof", request, False)
        return t.from_pb(t.ConsistencyProof, m)

    def lookup_command(self, nonce: int, actor: str | None = None) -> t.LookupResult | None:
        """What became of ``actor``'s command with ``nonce``; ``None`` when it was never journalled."""
        request = pb.LookupCommandRequest(actor=actor or self.actor, nonce=nonce)
        try:
            m = self._call(self._ledger.LookupCommand, "/carbon.v1.Ledger/LookupCommand", request)
        except RequestFailed as e:
            if e.status == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return t.LookupResult(m.seq, m.command.payload, m.command.signature, t.outcome_of(m.outcome))

    def journal(self, from_seq: int = 0) -> Subscription[t.JournalEntry]:
        """Journal entries from ``from_seq`` on, as stored (regulators, the operator, auditors)."""

        def request(last: t.JournalEntry | None) -> Any:
            return pb.StreamJournalRequest(from_seq=last.seq + 1 if last else from_seq)

        return self._stream(
            self._ledger.StreamJournal, "/carbon.v1.Ledger/StreamJournal", request, _journal_entry, True
        )

    # ---------------------------------------------------------- Regulator service

    def report(self, entity: str, year: int) -> t.Report:
        request = pb.GetReportRequest(entity=entity, year=year)
        return t.from_pb(t.Report, self._call(self._regulator.GetReport, "/carbon.v1.Regulator/GetReport", request))

    def allocations(self, year: int) -> list[t.Allocation]:
        request = pb.ListAllocationsRequest(year=year)
        m = self._call(self._regulator.ListAllocations, "/carbon.v1.Regulator/ListAllocations", request)
        return [t.from_pb(t.Allocation, a) for a in m.allocations]

    def compliance_table(self, year: int, jurisdiction: str = "") -> list[t.ComplianceLine]:
        """A closed year's compliance table (public), optionally of one city."""
        request = pb.ComplianceTableRequest(year=year, jurisdiction=jurisdiction)
        m = self._call(self._regulator.GetComplianceTable, "/carbon.v1.Regulator/GetComplianceTable", request, False)
        return [t.from_pb(t.ComplianceLine, line) for line in m.lines]

    # ---------------------------------------------------------- Market service

    def book(self, instrument: str, depth: int = 10) -> t.Book:
        """An instrument's book and the day's band (public)."""
        request = pb.GetBookRequest(instrument=instrument, depth=depth)
        return t.from_pb(t.Book, self._call(self._market.GetBook, "/carbon.v1.Market/GetBook", request, False))

    def trades(self, date: str = "", instrument: str = "", page_size: int = 0) -> Iterator[t.Trade]:
        """A day's trades (the open or latest day by default), every page.
        Parties are named to supervisors only; others see them blank."""
        token = ""
        while True:
            request = pb.ListTradesRequest(date=date, instrument=instrument, page_token=token, limit=page_size)
            m = self._call(self._market.ListTrades, "/carbon.v1.Market/ListTrades", request, self.key is not None)
            yield from (t.from_pb(t.Trade, x) for x in m.trades)
            token = m.next_page_token
            if not token:
                return

    def open_orders(self, account: str | None = None) -> list[t.OpenOrder]:
        request = pb.OpenOrdersRequest(account=account or self.actor)
        m = self._call(self._market.ListOpenOrders, "/carbon.v1.Market/ListOpenOrders", request)
        return [t.from_pb(t.OpenOrder, o) for o in m.orders]

    def market_data(self, instrument: str = "", depth: int = 0) -> Subscription[t.MarketDataUpdate]:
        """Trades, book tops and day summaries as they happen (every instrument by default)."""
        request = pb.MarketDataRequest(instrument=instrument, depth=depth)
        convert: Callable[[Any], t.MarketDataUpdate] = lambda m: t.from_pb(t.MarketDataUpdate, m)  # noqa: E731
        return self._stream(
            self._market.StreamMarketData,
            "/carbon.v1.Market/StreamMarketData",
            lambda _: request,
            convert,
            self.key is not None,
        )

    def executions(self, account: str | None = None) -> Subscription[t.ExecutionUpdate]:
        """An account's own order acks, fills and day closes."""
        request = pb.ExecutionsRequest(account=account or self.actor)
        convert: Callable[[Any], t.ExecutionUpdate] = lambda m: t.from_pb(t.ExecutionUpdate, m)  # noqa: E731
        return self._stream(
            self._market.StreamExecutions, "/carbon.v1.Market/StreamExecutions", lambda _: request, convert, True
        )

    # ---------------------------------------------------------- Supervision service

    def alerts(
        self, from_date: str = "", to_date: str = "", kind: str = "", account: str = "", limit: int = 0
    ) -> t.AlertList:
        """Alerts by the day they were raised for (``truncated`` when ``limit`` cut the list)."""
        request = pb.AlertQuery(from_date=from_date, to_date=to_date, kind=kind, account=account, limit=limit)
        return t.from_pb(
            t.AlertList, self._call(self._supervision.ListAlerts, "/carbon.v1.Supervision/ListAlerts", request)
        )

    def stream_alerts(self, from_seq: int = 0, kind: str = "", account: str = "") -> Subscription[t.JournalAlert]:
        """Every alert journalled from ``from_seq`` on, then each new one; resumes by itself."""

        def request(last: t.JournalAlert | None) -> Any:
            return pb.AlertStreamRequest(from_seq=last.seq + 1 if last else from_seq, kind=kind, account=account)

        convert: Callable[[Any], t.JournalAlert] = lambda m: t.from_pb(t.JournalAlert, m)  # noqa: E731
        return self._stream(
            self._supervision.StreamAlerts, "/carbon.v1.Supervision/StreamAlerts", request, convert, True
        )

    def position(self, account: str) -> t.Position:
        request = pb.PositionRequest(account=account)
        return t.from_pb(
            t.Position, self._call(self._supervision.GetPosition, "/carbon.v1.Supervision/GetPosition", request)
        )

    def large_holders(self) -> list[t.Position]:
        m = self._call(
            self._supervision.ListLargeHolders, "/carbon.v1.Supervision/ListLargeHolders", pb.LargeHoldersRequest()
        )
        return [t.from_pb(t.Position, p) for p in m.holders]

    def supervision(self) -> t.Supervision:
        m = self._call(
            self._supervision.GetSupervision, "/carbon.v1.Supervision/GetSupervision", pb.GetSupervisionRequest()
        )
        return t.from_pb(t.Supervision, m)


class Batch(Commands[None]):
    """Commands kept for one submission, in order (see :meth:`Ledger.batch`)."""

    def __init__(self, ledger: Ledger, stream: bool) -> None:
        self._ledger = ledger
        self._stream = stream
        self._items: list[tuple[str, Any, str | None]] = []
        self.results: list[t.CommandResult] = []

    def _command(self, body: str, message: Any, id: str | None = None) -> None:
        self._items.append((body, message, id))

    def submit(self) -> list[t.CommandResult]:
        """Sends what was kept; one result per command, rejected ones with ``ok`` false."""
        items, self._items = self._items, []
        if items:
            self.results.extend(self._ledger._submit_many(items, self._stream))
        return self.results

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.submit()


def _journal_entry(m: pb.JournalEntry) -> t.JournalEntry:
    kind = m.WhichOneof("input")
    entry = t.JournalEntry(m.seq, m.prev_hash, kind, t.outcome_of(m.outcome))
    if kind != "command":
        return entry
    command = pb.Command.FromString(m.command.payload)
    return t.JournalEntry(
        m.seq,
        m.prev_hash,
        kind,
        entry.outcome,
        actor=command.actor,
        nonce=command.nonce,
        command=command.WhichOneof("body") or "",
        payload=m.command.payload,
        signature=m.command.signature,
    )
