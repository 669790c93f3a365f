"""How the CTM mapping layer reaches a CTM-compatible API: over HTTP or in process.

The mapping layer (``providers.ctm.mapping``) speaks CTM paths and JSON through this
interface only, so the real API and the embedded sandbox share one mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hipaactl.errors import UncertainWriteError

__all__ = [
    "Method",
    "ProbeReply",
    "Transport",
    "UncertainWriteError",
    "rate_limit_header_names",
    "top_keys",
]

Method = Literal["GET", "POST", "PUT", "DELETE"]


class Transport(Protocol):
    def request(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON reply.

        ``path`` is relative to the API root (``/accounts/1/users``) or a full
        ``next_page`` URL. Failures raise ``ProviderError``; a POST whose outcome is
        unknown raises ``UncertainWriteError`` so the caller can re-read before retrying.
        """
        ...

    def probe(self, path: str, *, params: Mapping[str, str | int] | None = None) -> ProbeReply:
        """One GET for ``hipaactl doctor``: the reply's status, body and rate-limit header
        names, whatever the status (429 and 5xx are retried as for any GET). Raises
        ``ProviderError`` only when no reply came back.
        """
        ...

    def close(self) -> None:
        """Release the transport's connections."""


@dataclass(frozen=True)
class ProbeReply:
    """What ``hipaactl doctor`` learns from one GET, whatever its status.

    ``payload`` is the decoded JSON of a 2xx reply (None when it was not JSON or the
    status was not 2xx); ``body_keys`` the top-level key names of a JSON object body of
    any status; ``header_names`` the lowercased names of rate-limit headers seen
    (``x-ratelimit-*``, ``ratelimit-*``, ``retry-after``). No header value is kept.
    """

    status: int
    payload: Any = None
    json: bool = False
    body_keys: tuple[str, ...] = ()
    header_names: tuple[str, ...] = ()


RATE_LIMIT_HEADER = re.compile(r"(?i)^(x-)?(rate-?limit|ratelimit)(-|$)|^retry-after$")


def rate_limit_header_names(names: Iterable[str]) -> tuple[str, ...]:
    """The lowercased rate-limit header names among ``names`` (CTM publishes no rate
    limits: ``ctm-api-evidence.md``, "Unverified"), sorted."""
    return tuple(sorted({n.lower() for n in names if RATE_LIMIT_HEADER.search(n)}))


def top_keys(payload: Any) -> tuple[str, ...]:
    """The top-level key names of a JSON object, sorted; () for anything else."""
    return tuple(sorted(str(k) for k in payload)) if isinstance(payload, Mapping) else ()
