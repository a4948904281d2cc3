"""A regulator exports a closed year's compliance table to CSV (and pandas).

    python compliance_csv.py --server http://127.0.0.1:50051 --year 2025 \\
        [--jurisdiction HZ] [--out compliance-2025.csv] [--dataframe]

The table of a closed year is public (docs/ACCESS.md), so no key is needed.
One row per entity: jurisdiction, status (A met, B short, C no confirmed
report), the carbon and energy obligations, what was surrendered, the
shortfalls and the penalty ranges (CNY, exact decimals as the ledger
gives them). With ``--dataframe`` it also builds a pandas DataFrame when
pandas is installed (``pip install "carbon-ledger-client[pandas]"``) and
prints totals by jurisdiction and status.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from typing import Any

from carbon_ledger import ComplianceLine, Ledger

COLUMNS = [
    "year",
    "entity",
    "jurisdiction",
    "status",
    "obligation",
    "surrendered",
    "shortfall",
    "penalty_min",
    "penalty_max",
    "energy_obligation",
    "energy_surrendered",
    "energy_shortfall",
    "energy_penalty_min",
    "energy_penalty_max",
]


def records(lines: list[ComplianceLine]) -> list[dict[str, Any]]:
    """One flat record per entity, in the columns above."""
    return [{"jurisdiction": line.jurisdiction, **dataclasses.asdict(line.row)} for line in lines]


def to_dataframe(lines: list[ComplianceLine]) -> Any:
    """The table as a pandas DataFrame (penalties stay ``Decimal``: exact)."""
    import pandas as pd

    return pd.DataFrame.from_records(records(lines), columns=COLUMNS)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default="http://127.0.0.1:50051")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--jurisdiction", default="", help="a city code; default every city")
    p.add_argument("--out", help="the CSV file (default: standard output)")
    p.add_argument("--dataframe", action="store_true", help="also a pandas DataFrame, where pandas is installed")
    a = p.parse_args()

    with Ledger(a.server) as ledger:
        lines = ledger.compliance_table(a.year, a.jurisdiction)
    out = open(a.out, "w", newline="") if a.out else sys.stdout
    try:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(records(lines))
    finally:
        if a.out:
            out.close()
    if a.dataframe:
        try:
            df = to_dataframe(lines)
        except ImportError:
            print("pandas is not installed: CSV only", file=sys.stderr)
        else:
            totals = df.groupby(["jurisdiction", "status"])[["obligation", "shortfall"]].sum()
            print(totals.to_string(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
