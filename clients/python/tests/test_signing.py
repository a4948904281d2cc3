"""docs/SIGNING.md's worked examples, recomputed, and key files as ``carbon keygen`` writes them."""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path

import pytest

from carbon_ledger import ExposedKeyWarning, Key, KeyFileError, pb
from carbon_ledger.signing import (
    COMMAND_PREFIX,
    READ_PREFIX,
    command_message,
    read_credential,
    read_message,
    sign_command,
)

from conftest import REPO, carbon_bin

LEDGER_ID = bytes([0x11]) * 32


def doc_table(heading: str) -> dict[str, str]:
    """The hex column of the table after ``heading`` in docs/SIGNING.md, by its first column."""
    text = (REPO / "docs" / "SIGNING.md").read_text()
    section = text[text.index(heading) :]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*(.+?)\s*\|\s*`([0-9a-f]+)`\s*\|$", line)
        if m:
            rows[m.group(1).strip("`")] = m.group(2)
        elif rows and not line.startswith("|"):
            break
    return rows


def test_command_example_of_signing_md_is_exact() -> None:
    doc = doc_table("## Worked example")
    key = Key.test_key("HZ-STEEL")
    command = pb.Command(
        actor="HZ-STEEL", nonce=1, transfer=pb.Transfer(instrument="ZJEA-2025", to="NB-POWER", qty=100)
    )
    envelope = sign_command(key, LEDGER_ID, command)
    assert key.seed.hex() == doc["secret key (32-byte seed)"]
    assert key.public_key.hex() == doc["public key"]
    assert envelope.payload.hex() == doc["payload P (37 bytes)"]
    assert command_message(LEDGER_ID, envelope.payload).hex() == doc["signed message"]
    assert envelope.signature.hex() == doc["signature"]
    assert COMMAND_PREFIX.hex() in doc["signed message"] and len(COMMAND_PREFIX) == 25


def test_read_credential_example_of_signing_md_is_exact() -> None:
    doc = doc_table("### Worked example")
    key = Key.test_key("HZ-EEB")
    request = pb.PositionRequest(account="HZ-STEEL").SerializeToString()
    method, ts = "/carbon.v1.Supervision/GetPosition", 1767225600000  # 2026-01-01T00:00:00Z
    assert key.seed.hex() == doc["secret key (32-byte seed)"]
    assert key.public_key.hex() == doc["public key"]
    assert request.hex() == doc["request (10 bytes)"]
    assert read_message(LEDGER_ID, method, ts, request).hex() == doc["signed message"]
    metadata = dict(read_credential(key, "HZ-EEB", LEDGER_ID, method, ts, request))
    assert metadata == {
        "carbon-account": "HZ-EEB",
        "carbon-timestamp-ms": "1767225600000",
        "carbon-signature": doc["carbon-signature"],
    }
    assert READ_PREFIX == b"carbon-ledger/v1/read\n"


def test_a_signature_is_bound_to_its_ledger() -> None:
    command = pb.Command(actor="HZ-STEEL", nonce=1, freeze=pb.Freeze(account="X"))
    a = sign_command(Key.test_key("HZ-STEEL"), LEDGER_ID, command)
    b = sign_command(Key.test_key("HZ-STEEL"), bytes(32), command)
    assert a.payload == b.payload and a.signature != b.signature
    with pytest.raises(ValueError):
        command_message(b"short", a.payload)


def test_key_files_round_trip_private(tmp_path: Path) -> None:
    key = Key.generate()
    path = tmp_path / "me.key"
    key.write(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Key.from_file(path) == key
    with pytest.raises(FileExistsError):
        key.write(path)  # never overwrites


def test_an_exposed_key_file_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "me.key"
    Key.test_key("A").write(path)
    os.chmod(path, 0o644)
    with pytest.warns(ExposedKeyWarning, match="chmod 600"):
        assert Key.from_file(path) == Key.test_key("A")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"public_key": "00"}',
        '{"secret_key": "zz"}',
        '{"secret_key": "' + "00" * 31 + '"}',
        # A public key that is not the secret's.
        '{"secret_key": "'
        + Key.test_key("A").seed.hex()
        + '", "public_key": "'
        + Key.test_key("B").public_key.hex()
        + '"}',
    ],
)
def test_bad_key_files_are_refused(text: str) -> None:
    with pytest.raises(KeyFileError):
        Key.from_json(text)


def test_reads_key_files_of_carbon_keygen(tmp_path: Path) -> None:
    path = tmp_path / "kg.key"
    printed = subprocess.run(
        [str(carbon_bin()), "keygen", "--out", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Key.from_file(path).public_key.hex() == printed
    # And carbon reads ours: `carbon submit` signs with it (it fails only on the server it cannot reach).
    ours = tmp_path / "ours.key"
    Key.test_key("HZ-STEEL").write(ours)
    p = subprocess.run(
        [
            str(carbon_bin()),
            "submit",
            "--server",
            "http://127.0.0.1:9",
            "--key",
            str(ours),
            "--actor",
            "HZ-STEEL",
            '{"cmd":"freeze","account":"X"}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode != 0 and "key file" not in p.stderr, p.stderr
