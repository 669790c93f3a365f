"""The provider interface: the core never sees HTTP or CTM JSON.

Providers are found through the ``hipaactl.providers`` entry-point group; each entry
point names a ``ProviderFactory``. The built-in ``sandbox`` and ``ctm`` register there too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from hipaactl.config.model import ProviderSettings
from hipaactl.errors import ConfigError, ConfigIssue
from hipaactl.model.changes import Change
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, ResourceKind

ENTRY_POINT_GROUP = "hipaactl.providers"


class Provider(Protocol):
    """Reads normalized live state and applies one change at a time.

    Implementations must be safe to call from several threads at once.
    """

    def list_accounts(self) -> tuple[AccountInfo, ...]:
        """Every account the credentials can see, in the provider's order.

        Raises ProviderError (AuthenticationError for refused credentials) when the read fails.
        """

    def read_agency_security(self) -> AgencySecurity:
        """The agency-wide security settings (SPEC section 3).

        Raises ProviderError when the read fails or the reply has an unexpected shape.
        """

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        """``info``'s account with only ``kinds`` read; kinds not asked for stay None.

        Raises ProviderError when a read fails or a reply has an unexpected shape.
        """

    def check_writes(self, changes: Sequence[Change]) -> None:
        """Raise ``ProviderError`` before any write when this provider refuses some of
        ``changes`` as a whole (the ``ctm`` provider: writes to inferred endpoints
        without ``allow_inferred_writes``)."""

    def apply_change(self, change: Change) -> None:
        """Make one planned change live and verify it by reading the object again.

        Raises ProviderError when it is refused or the re-read does not show it (SPEC
        section 4), UncertainWriteError when it was sent but no reply confirmed it (it
        may or may not have taken effect).
        """

    def close(self) -> None:
        """Release connections and files; the provider is not used afterwards."""


@dataclass(frozen=True)
class ProviderContext:
    settings: ProviderSettings
    config_path: Path  # absolute path of the config file
    work_dir: Path  # the folder holding ``.hipaactl/`` (the config file's folder)
    environ: Mapping[str, str] = field(hash=False)


ProviderFactory = Callable[[ProviderContext], Provider]

_BUILTIN_FACTORIES = {
    "sandbox": "hipaactl.providers.sandbox:create_provider",
    "ctm": "hipaactl.providers.ctm:create_provider",
}


def find_factory(kind: str, config_path: Path) -> ProviderFactory:
    """The factory registered for ``kind``; a source checkout without metadata still
    finds the built-in ones."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            factory: ProviderFactory = ep.load()
            return factory
    if kind in _BUILTIN_FACTORIES:
        module_name, _, attr = _BUILTIN_FACTORIES[kind].partition(":")
        module = __import__(module_name, fromlist=[attr])
        builtin: ProviderFactory = getattr(module, attr)
        return builtin
    known = sorted(
        {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} | set(_BUILTIN_FACTORIES)
    )
    raise ConfigError(
        [
            ConfigIssue(
                file=str(config_path),
                key="provider.kind",
                message=f"unknown provider {kind!r}; installed providers: {', '.join(known)}",
            )
        ]
    )


def open_provider(context: ProviderContext) -> Provider:
    """A provider built by the factory registered for ``context.settings.kind``.

    Raises ConfigError (key ``provider.kind``) when no such provider is installed; the
    factory itself may raise ConfigError or AuthenticationError for missing settings.
    """
    return find_factory(context.settings.kind, context.config_path)(context)
