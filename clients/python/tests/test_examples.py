"""Every example in examples/ runs against a real server, and does what it says."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest

from conftest import OPERATOR, Server
from market import YEAR, ZJEA, confirm_report, open_market


def wait_for_line(process: subprocess.Popen[str], text: str) -> list[str]:
    """Lines the process printed up to the first holding ``text``."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return seen
    err = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"the example ended ({process.wait()}) before printing {text!r}: {seen}\n{err}")


def finish(process: subprocess.Popen[str], timeout: float = 60) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"exited {process.returncode}\n{out}\n{err}"
    return out


def enterprise_across_the_close(server: Server) -> tuple[list[str], str, int]:
    """Runs the enterprise example as HZ-STEEL until it waits for the close,
    closes the day, and returns what it printed before and after, and its status."""
    steel = server.popen_example(
        "enterprise_compliance.py",
        "--key",
        str(server.key_file("HZ-STEEL")),
        "--actor",
        "HZ-STEEL",
        "--year",
        str(YEAR),
    )
    try:
        before = wait_for_line(steel, "waiting for the day's close")
        # What it bought today is pending: not yet surrenderable.
        assert server.as_("HZ-STEEL").account().holding(ZJEA).pending > 0
        server.as_(OPERATOR).close_day()
        after, err = steel.communicate(timeout=60)
    finally:
        steel.kill()
    return before, after + err, steel.returncode


def test_enterprise_buys_its_shortfall_and_surrenders_before_the_deadline(server: Server) -> None:
    open_market(server)
    obligation = confirm_report(server, "HZ-STEEL", 1000)  # it holds 600
    server.as_("NB-POWER").sell(ZJEA, 300, "58.10")
    server.as_("NB-POWER").sell(ZJEA, 300, "58.40")
    before, after, status = enterprise_across_the_close(server)
    assert any("surrendered 600 t" in line for line in before), before
    assert any("bought 400 of 400 t" in line for line in before), before
    assert status == 0 and "surrendered 400 t" in after and "short 0 t" in after, after
    server.as_("ZJ-DEE").close_year(YEAR)
    rows = {line.row.entity: line.row for line in server.as_("ZJ-DEE").compliance_table(YEAR)}
    assert (rows["HZ-STEEL"].status, rows["HZ-STEEL"].surrendered, rows["HZ-STEEL"].obligation) == (
        "A",
        obligation,
        1000,
    )


def test_enterprise_short_of_liquidity_says_so(server: Server) -> None:
    open_market(server)
    confirm_report(server, "HZ-STEEL", 1000)
    server.as_("NB-POWER").sell(ZJEA, 100, "58.10")  # 400 needed, 100 offered
    _, after, status = enterprise_across_the_close(server)
    assert status == 2 and "short 300 t" in after, after


def test_market_maker_quotes_both_sides_inside_the_band_and_requotes_after_a_fill(server: Server) -> None:
    open_market(server)
    maker = server.popen_example(
        "market_maker.py",
        "--key",
        str(server.key_file("HZ-TRADER")),
        "--actor",
        "HZ-TRADER",
        "--instrument",
        ZJEA,
        "--qty",
        "100",
        "--half-spread",
        "20",
        "--fills",
        "1",
        "--duration",
        "30",
    )
    try:
        wait_for_line(maker, "quoting")
        book = server.as_("HZ-STEEL").book(ZJEA)
        assert book.best_bid is not None and book.best_ask is not None
        assert book.band_low <= book.best_bid < book.reference < book.best_ask <= book.band_high
        assert (str(book.best_bid), str(book.best_ask)) == ("57.80", "58.20")
        taken = server.as_("HZ-STEEL").buy(ZJEA, 100, book.best_ask, tif="ioc")
        assert taken.order is not None and taken.order.filled == 100
        out = finish(maker)
    finally:
        maker.kill()
    assert "filled: sell 100 t at 58.20" in out, out
    # Quoted again around the fill's price, then cancelled on the way out.
    assert "quoting 58.00 / 58.40" in out, out
    assert server.as_("HZ-TRADER").open_orders() == []


def test_regulator_exports_the_compliance_table_to_csv(server: Server, tmp_path: Path) -> None:
    open_market(server)
    confirm_report(server, "HZ-STEEL", 1000)
    server.as_("HZ-STEEL").surrender(YEAR, ZJEA, 600)
    server.as_(OPERATOR).close_day()
    server.as_("ZJ-DEE").close_year(YEAR)
    out = server.example("compliance_csv.py", "--year", str(YEAR)).stdout
    rows = {r["entity"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"HZ-STEEL", "NB-POWER"}  # entities only; investors have no obligation
    steel = rows["HZ-STEEL"]
    assert (steel["jurisdiction"], steel["status"], steel["obligation"], steel["surrendered"], steel["shortfall"]) == (
        "HZ",
        "B",
        "1000",
        "600",
        "400",
    )
    # 5x and 10x the shortfall at the average close (58.00, no trades): exact, 2 decimals.
    assert (steel["penalty_min"], steel["penalty_max"]) == ("116000.00", "232000.00")
    assert rows["NB-POWER"]["status"] == "C"
    # --dataframe: totals by city and status where pandas is installed, a note where it is not.
    dataframe = server.example("compliance_csv.py", "--year", str(YEAR), "--dataframe")
    assert dataframe.stdout == out
    try:
        import pandas  # noqa: F401
    except ImportError:
        assert "pandas is not installed" in dataframe.stderr, dataframe.stderr
    else:
        assert re.search(r"HZ\s+B\s+1000\s+400", dataframe.stderr), dataframe.stderr
    only_nb = tmp_path / "nb.csv"
    server.example("compliance_csv.py", "--year", str(YEAR), "--jurisdiction", "NB", "--out", str(only_nb))
    assert [r["entity"] for r in csv.DictReader(only_nb.open())] == ["NB-POWER"]


def test_compliance_table_as_a_dataframe(server: Server) -> None:
    pd = pytest.importorskip("pandas")
    open_market(server)
    confirm_report(server, "HZ-STEEL", 1000)
    server.as_("ZJ-DEE").close_year(YEAR)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from compliance_csv import to_dataframe

    df = to_dataframe(server.as_("ZJ-DEE").compliance_table(YEAR))
    assert isinstance(df, pd.DataFrame)
    assert df.set_index("entity").loc["HZ-STEEL", "shortfall"] == 1000


def test_inclusion_proof_checks_with_only_the_operators_key(server: Server) -> None:
    open_market(server)
    result = server.as_("HZ-STEEL").transfer(ZJEA, "NB-POWER", 5)
    args = ["--checkpoint-key", server.checkpoint_key, "--key", str(server.key_file("HZ-STEEL")), "--actor", "HZ-STEEL"]
    out = server.example("verify_inclusion.py", *args, "--nonce", str(result.nonce)).stdout
    assert f"entry {result.seq} (transfer by HZ-STEEL, nonce {result.nonce}, ok=True) is in the ledger" in out, out
    assert "signature verified" in out and "genesis entry's leaf hash" in out
    # A regulator proves any entry.
    regulator = [
        "--checkpoint-key",
        server.checkpoint_key,
        "--key",
        str(server.key_file("ZJ-DEE")),
        "--actor",
        "ZJ-DEE",
    ]
    assert "is in the ledger" in server.example("verify_inclusion.py", *regulator, "--seq", "1").stdout
    # Another key (here the origin's name with a regulator's key) proves nothing.
    from carbon_ledger import Key, proofs

    forged = str(proofs.verifier_key("carbon-ledger.test", Key.test_key("ZJ-DEE").public_key))
    bad = subprocess.run(
        [
            *server_example_cmd(server, "verify_inclusion.py"),
            "--checkpoint-key",
            forged,
            *args[2:],
            "--seq",
            str(result.seq),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "NOT PROVED" in bad.stderr, bad


def server_example_cmd(server: Server, name: str) -> list[str]:
    import sys

    from conftest import EXAMPLES

    return [sys.executable, str(EXAMPLES / name), "--server", server.url]
