"""A small market the integration tests and examples start from, set up
through the kit itself (so these steps are tested too)."""

from __future__ import annotations

from carbon_ledger import FuelFactors, FuelUse, Key

from conftest import OPERATOR, Server

YEAR = 2025
ZJEA = f"ZJEA-{YEAR}"
DAY = "2026-03-02"
REFERENCE = "58.00"
# HZ-STEEL: an entity that will be short; NB-POWER: an entity long of
# allowances (a seller); HZ-TRADER: an investor; ZJ-VER: a verifier.
ACCOUNTS = (("HZ-EEB", "HZ-STEEL", "entity"), ("NB-EEB", "NB-POWER", "entity"), ("HZ-EEB", "HZ-TRADER", "investor"))


def open_market(s: Server, day: str = DAY) -> None:
    """Accounts, ZJEA-2025 at 58.00, cash, allowances, a factor set, an open day."""
    op, zj = s.as_(OPERATOR), s.as_("ZJ-DEE")
    for regulator, id, role in ACCOUNTS:
        s.as_(regulator).create_account(id, role, Key.test_key(id).public_key)  # type: ignore[arg-type]
    zj.create_account("ZJ-VER", "verifier", Key.test_key("ZJ-VER").public_key, jurisdiction="HZ")
    op.define_instrument(ZJEA, REFERENCE)
    for id in ("HZ-STEEL", "NB-POWER", "HZ-TRADER"):
        op.deposit(id, "10000000.00")
    s.as_("HZ-EEB").allocate_grandfather("HZ-STEEL", YEAR, 600, "0")
    s.as_("NB-EEB").issue(ZJEA, "NB-POWER", 50_000)
    s.as_("HZ-EEB").issue(ZJEA, "HZ-EEB", 1_000)
    s.as_("HZ-EEB").transfer(ZJEA, "HZ-TRADER", 1_000)
    zj.define_factor_set("FS-2025", "0.5", {"coal": FuelFactors("20.908", "0.03085", "0.99")})
    op.open_day(day)


def confirm_report(s: Server, entity: str = "HZ-STEEL", verified: int = 1000) -> int:
    """A report of coal and electricity, verified at ``verified`` t and confirmed."""
    s.as_(entity).submit_report(YEAR, "FS-2025", [FuelUse("coal", "1500")], electricity_mwh="2000")
    s.as_("ZJ-VER").verify_report(entity, YEAR, verified_emissions=verified)
    s.as_("HZ-EEB").confirm_report(entity, YEAR)
    report = s.as_("HZ-EEB").report(entity, YEAR)
    assert report.status == "confirmed" and report.verified is not None
    return report.verified
