"""How the CTM mapping layer reaches a CTM-compatible API: over HTTP or in process.

The mapping layer (``providers.ctm.mapping``) speaks CTM paths and JSON through this
interface only, so the real API and the embedded sandbox share one mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from hipaactl.errors import UncertainWriteError

__all__ = ["Method", "Transport", "UncertainWriteError"]

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

    def close(self) -> None:
        """Release the transport's connections."""
