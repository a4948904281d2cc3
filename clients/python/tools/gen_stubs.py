"""Regenerate the checked-in gRPC stubs from ``proto/`` (run after editing the .proto).

    pip install "./clients/python[test]"      # grpcio-tools, pinned
    python clients/python/tools/gen_stubs.py   # writes src/carbon_ledger/_pb/

The stubs are checked in, not generated at install time, so that
``pip install ./clients/python`` needs neither grpcio-tools nor the
repository's ``proto/`` folder (an sdist or a wheel built elsewhere has no
``../../proto``). ``tests/test_stubs.py`` regenerates them into a temporary
folder and fails when they differ from the checked-in ones.

protoc writes ``from carbon.v1 import carbon_pb2`` into the service module;
that would need a top-level ``carbon`` package (a name other projects use),
so the import is made relative. The descriptor keeps its file name
``carbon/v1/carbon.proto``, the name the server's reflection serves.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent.parent / "proto" / "proto"
PROTO_FILE = "carbon/v1/carbon.proto"
OUT = HERE.parent / "src" / "carbon_ledger" / "_pb"
GENERATED = ("carbon_pb2.py", "carbon_pb2.pyi", "carbon_pb2_grpc.py")
ABSOLUTE_IMPORT = "from carbon.v1 import carbon_pb2 as carbon_dot_v1_dot_carbon__pb2"
RELATIVE_IMPORT = "from . import carbon_pb2 as carbon_dot_v1_dot_carbon__pb2"


def generate(out: Path, proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Writes the three generated files of ``carbon.proto`` into ``out``."""
    from grpc_tools import protoc  # only needed here: a test extra, not a runtime dependency

    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{proto_root}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            PROTO_FILE,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {proto_root / PROTO_FILE}")
        written = []
        out.mkdir(parents=True, exist_ok=True)
        for name in GENERATED:
            text = (Path(tmp) / "carbon" / "v1" / name).read_text()
            if name.endswith("_grpc.py"):
                if ABSOLUTE_IMPORT not in text:
                    raise RuntimeError(f"protoc's import line changed; update {__file__}")
                text = text.replace(ABSOLUTE_IMPORT, RELATIVE_IMPORT)
            (out / name).write_text(text)
            written.append(out / name)
        return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(f"wrote {path}")
