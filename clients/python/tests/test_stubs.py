"""The checked-in stubs (src/carbon_ledger/_pb) match proto/: regenerate and compare.

The descriptor, which holds every message, field, enum and service of the
.proto, must be equal whatever the grpcio-tools version; the files
themselves byte for byte when the installed grpcio-tools is the one that
generated them (the ``test`` extra pins it). Fix a failure with
``python clients/python/tools/gen_stubs.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from carbon_ledger._pb import carbon_pb2, carbon_pb2_grpc

TOOLS = Path(__file__).resolve().parents[1] / "tools"
CHECKED_IN = Path(carbon_pb2.__file__).parent


def _gen_stubs():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_stubs", TOOLS / "gen_stubs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_stubs"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("grpc_tools", reason="the drift test needs the test extra: pip install '.[test]'")
    out = tmp_path_factory.mktemp("stubs")
    _gen_stubs().generate(out)
    return out


def _descriptor(path: Path) -> descriptor_pb2.FileDescriptorProto:
    text = path.read_text()
    start = text.index("AddSerializedFile(") + len("AddSerializedFile(")
    literal = text[start : text.index(")\n", start)]
    d = descriptor_pb2.FileDescriptorProto()
    d.ParseFromString(eval(literal))  # a bytes literal protoc wrote
    return d


def test_descriptor_matches_the_proto(fresh: Path) -> None:
    assert _descriptor(CHECKED_IN / "carbon_pb2.py") == _descriptor(fresh / "carbon_pb2.py"), (
        "src/carbon_ledger/_pb is stale: run tools/gen_stubs.py"
    )


def test_files_match_byte_for_byte_with_the_pinned_generator(fresh: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc  # noqa: F401 - the version is the package's

    version = getattr(grpc_tools, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("grpcio-tools")
    if version != carbon_pb2_grpc.GRPC_GENERATED_VERSION:
        pytest.skip(
            f"grpcio-tools {version} is not {carbon_pb2_grpc.GRPC_GENERATED_VERSION}, which generated the stubs"
        )
    for name in ("carbon_pb2.py", "carbon_pb2.pyi", "carbon_pb2_grpc.py"):
        assert (CHECKED_IN / name).read_text() == (fresh / name).read_text(), f"{name} is stale: run tools/gen_stubs.py"


def test_every_service_method_has_a_stub() -> None:
    for service in carbon_pb2.DESCRIPTOR.services_by_name.values():
        stub = getattr(carbon_pb2_grpc, f"{service.name}Stub")
        methods = set(vars(stub(_NoChannel())))
        assert {m.name for m in service.methods} <= methods, service.name


class _NoChannel:
    """Enough of a channel to build a stub."""

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return lambda *a, **k: None
