"""Carbon Ledger's Python client kit.

* :class:`Ledger`: a typed gRPC client acting as one account (commands
  signed, nonces counted, reads with read credentials, streams as iterators);
* :mod:`carbon_ledger.signing`: the signed bytes of docs/SIGNING.md;
* :class:`Key`: key pairs and ``carbon keygen``'s key files;
* :mod:`carbon_ledger.proofs`: checkpoints, inclusion and consistency proofs
  checked with only the operator's key;
* :mod:`carbon_ledger.errors`: :class:`Rejected` and one subclass per
  rulebook code (``InsufficientHoldings``, ``PositionLimitExceeded``, ...);
* :mod:`carbon_ledger.types`: the answers, as dataclasses;
* ``carbon_ledger.pb``: the generated protobuf messages of ``carbon.proto``.
"""

from . import errors, proofs, signing, types
from ._pb import carbon_pb2 as pb
from .client import MAX_ANSWER_BYTES, Batch, Ledger, Subscription
from .commands import FuelFactors, FuelUse, GeneratingUnit, decimal_text, new_id
from .errors import *  # noqa: F403 - one exception class per rulebook code
from .errors import BY_CODE, CODE_TABLE, CarbonError, Rejected, RequestFailed
from .keys import ExposedKeyWarning, Key, KeyFileError
from .types import *  # noqa: F403 - the answers' dataclasses

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "BY_CODE",
    "CODE_TABLE",
    "CarbonError",
    "ExposedKeyWarning",
    "FuelFactors",
    "FuelUse",
    "GeneratingUnit",
    "Key",
    "KeyFileError",
    "Ledger",
    "MAX_ANSWER_BYTES",
    "Rejected",
    "RequestFailed",
    "Subscription",
    "decimal_text",
    "errors",
    "new_id",
    "pb",
    "proofs",
    "signing",
    "types",
    *errors.__all__,
    *types.__all__,
]


def __getattr__(name: str) -> type[Rejected]:
    """Only for type checkers (the rulebook codes' classes are made at import)."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
