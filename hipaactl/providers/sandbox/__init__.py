"""The embedded sandbox provider: the CTM mapping over an in-process CTM-compatible backend.

Live state is the working copy of the config's folder (``workcopy``), loaded when the
provider is created and saved after every write, so runs in the same folder one after
another see each other's changes.
"""

from __future__ import annotations

from hipaactl.providers.base import Provider, ProviderContext
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.inprocess import InProcessTransport
from hipaactl.providers.sandbox.workcopy import open_working_copy


def create_provider(context: ProviderContext) -> Provider:
    """The ``sandbox`` provider: the CTM mapping over an in-process simulator of the
    working copy in ``.hipaactl/sandbox/`` (made from the config's seed on first use).
    Raises SandboxStateError when the working copy came from another seed.
    """
    copy = open_working_copy(context.work_dir, context.settings.seed)
    backend = SandboxBackend(copy.document, store=copy)
    return CtmProvider(InProcessTransport(backend), EndpointTable(context.settings.endpoints))
