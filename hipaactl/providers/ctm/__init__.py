"""The ``ctm`` provider: the real CTM REST API over HTTP.

Importing this package stays cheap (``hipaactl --version`` must be fast): ``requests``
and the mapping layer load only when a provider is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hipaactl.providers.base import Provider, ProviderContext


def create_provider(context: ProviderContext) -> Provider:
    """The ``hipaactl.providers`` entry point for ``kind = "ctm"``."""
    from hipaactl.errors import ConfigError, ConfigIssue
    from hipaactl.providers import limits
    from hipaactl.providers.ctm import http
    from hipaactl.providers.ctm.credentials import load_credentials
    from hipaactl.providers.ctm.endpoints import EndpointTable
    from hipaactl.providers.ctm.http import DEFAULT_BASE_URL, HttpTransport, base_url_problem
    from hipaactl.providers.ctm.mapping import CtmProvider
    from hipaactl.providers.ctm.ratelimit import limiter_for

    settings = context.settings
    base_url = settings.base_url or DEFAULT_BASE_URL
    problem = base_url_problem(base_url)
    if problem is not None:
        issue = ConfigIssue(file=str(context.config_path), key="provider.base_url", message=problem)
        raise ConfigError([issue])
    transport = HttpTransport(
        base_url,
        load_credentials(context.environ),
        limiter=limiter_for(settings.rate_limit),
        pool_size=settings.parallelism,
        # Read at call time, so a test can shrink them for one run.
        deadline=http.DEFAULT_DEADLINE_SECONDS,
        max_body_bytes=limits.MAX_BODY_BYTES,
    )
    return CtmProvider(
        transport,
        EndpointTable(settings.endpoints),
        allow_inferred_writes=settings.allow_inferred_writes,
    )
