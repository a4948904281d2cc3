"""Fixtures: a real ``carbon serve`` on a fresh ledger, and its accounts.

The binary is ``$CARBON_BIN`` or the workspace's ``target/debug/carbon``
(``cargo build -p carbon-cli`` makes it). Each server gets a fresh data
folder and the test genesis (operator ``ZJ-CEEX``, regulators ``ZJ-DEE``,
``HZ-EEB``, ``NB-EEB``, all with their public test keys), listens on a port
the kernel picks (``--listen 127.0.0.1:0``; it prints the address) and is
stopped when the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbon_ledger import Key, Ledger

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OPERATOR = "ZJ-CEEX"
REGULATORS = (("ZJ-DEE", "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB"))
ORIGIN = "carbon-ledger.test"


def carbon_bin() -> Path:
    path = Path(os.environ.get("CARBON_BIN") or REPO / "target" / "debug" / "carbon")
    if not path.is_file():
        pytest.fail(f"no carbon binary at {path}: run `cargo build -p carbon-cli` or set CARBON_BIN", pytrace=False)
    return path


class Server:
    """A running ``carbon serve``; ``banner`` is what it printed before listening."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys = root / "keys"
        self.keys.mkdir(parents=True)
        pk = lambda id: Key.test_key(id).public_key.hex()  # noqa: E731
        genesis = {
            "cmd": "genesis",
            "operator": OPERATOR,
            "operator_public_key": pk(OPERATOR),
            "regulators": [{"id": i, "jurisdiction": j, "public_key": pk(i)} for i, j in REGULATORS],
        }
        (root / "genesis.json").write_text(json.dumps(genesis))
        self.process = subprocess.Popen(
            [
                str(carbon_bin()),
                "serve",
                "--data",
                str(root / "data"),
                "--listen",
                "127.0.0.1:0",
                "--genesis",
                str(root / "genesis.json"),
                "--operator-key",
                str(self.key_file(OPERATOR)),
                "--origin",
                ORIGIN,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        assert self.process.stdout is not None
        self.banner: list[str] = []
        for line in self.process.stdout:
            if line.startswith("listening on "):
                self.address = line.removeprefix("listening on ").strip()
                break
            self.banner.append(line.rstrip("\n"))
        else:
            raise RuntimeError(f"carbon serve exited before listening: {self.process.wait()}: {self.banner}")
        # Keep reading stdout so that the server never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.url = f"http://{self.address}"
        self._clients: dict[str, Ledger] = {}

    @property
    def checkpoint_key(self) -> str:
        """The operator's verifier key, as the server printed it."""
        for line in self.banner:
            if "checkpoint key " in line:
                return line.rsplit("checkpoint key ", 1)[1].strip()
        raise AssertionError(f"no checkpoint key in {self.banner}")

    def key_file(self, account: str) -> Path:
        """A key file (``carbon keygen``'s format, mode 0600) of ``account``'s test key."""
        path = self.keys / f"{account}.key"
        if not path.exists():
            Key.test_key(account).write(path)
        return path

    def as_(self, account: str) -> Ledger:
        """A client acting as ``account`` with its test key (kept for the test)."""
        if account not in self._clients:
            self._clients[account] = Ledger(self.url, self.key_file(account), account)
        return self._clients[account]

    def example(self, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Runs ``examples/<name>`` against this server; fails the test on a non-zero exit."""
        p = subprocess.run(
            [sys.executable, str(EXAMPLES / name), "--server", self.url, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert p.returncode == 0, f"{name} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
        return p

    def popen_example(self, name: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-u", str(EXAMPLES / name), "--server", self.url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    try:
        yield s
    finally:
        s.stop()
