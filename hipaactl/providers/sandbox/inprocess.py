"""The Transport that calls the sandbox backend directly, with no HTTP in between.

Bodies and replies go through a JSON round trip, so the mapping layer sees exactly what
it would see over the wire (lists, not tuples; no shared objects with the backend).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hipaactl.errors import ProviderError
from hipaactl.providers.ctm.transport import Method, ProbeReply, top_keys
from hipaactl.providers.sandbox.backend import SandboxBackend


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value)) if value is not None else None


def error_reason(reply: Any, status: int) -> str:
    """The server's reason from ``{"status": "error", "reason": ...}`` or ``{"error": ...}``."""
    if isinstance(reply, Mapping):
        for key in ("reason", "error"):
            if isinstance(reply.get(key), str):
                return str(reply[key])
    return f"the server answered HTTP {status}"


class InProcessTransport:
    def __init__(self, backend: SandboxBackend) -> None:
        self._backend = backend

    def request(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Serve one request from the backend without HTTP; JSON round-trips both ways.

        Raises ProviderError with the status and ``METHOD route`` for a non-2xx reply.
        """
        route, query = self._split(path)
        query.update({key: str(value) for key, value in (params or {}).items()})
        status, reply = self._backend.handle(method, route, query, _round_trip(body))
        if 200 <= status < 300:
            return _round_trip(reply)
        raise ProviderError(
            error_reason(reply, status), status=status, endpoint=f"{method} {route}"
        )

    def probe(self, path: str, *, params: Mapping[str, str | int] | None = None) -> ProbeReply:
        """One GET for ``hipaactl doctor``, whatever its status; the in-process backend
        sends no headers, so no rate-limit header is ever seen."""
        route, query = self._split(path)
        query.update({key: str(value) for key, value in (params or {}).items()})
        status, reply = self._backend.handle("GET", route, query, None)
        reply = _round_trip(reply)
        ok = 200 <= status < 300
        return ProbeReply(status, payload=reply if ok else None, json=ok, body_keys=top_keys(reply))

    def close(self) -> None:
        """Nothing to release: the backend outlives the transport."""

    def _split(self, path: str) -> tuple[str, dict[str, str]]:
        """A relative path as is; a full ``next_page`` URL back into path and query,
        provided it points at the backend's own base URL."""
        if "://" not in path:
            route, _, raw_query = path.partition("?")
            return route, dict(parse_qsl(raw_query))
        url, base = urlsplit(path), urlsplit(self._backend.base_url)
        if (url.scheme, url.netloc) != (base.scheme, base.netloc):
            raise ProviderError(
                f"refusing to follow a link outside the sandbox: {url.scheme}://{url.netloc}",
                endpoint=f"GET {url.path}",
            )
        base_path = self._backend.base_path
        route = url.path[len(base_path) :] if url.path.startswith(base_path) else url.path
        return route or "/", dict(parse_qsl(url.query))
