"""``python -m tests.e2e.signal_while_listing WHERE SIGNAL HIPAACTL-ARGS...``: hipaactl,
with SIGNAL (``SIGINT``, ``SIGTERM``) raised as the run starts to list the accounts, in
this thread, while live state is read; WHERE says inside what:

- ``exec``: an ``exec()`` of a string. An interrupt lands there when it arrives while a
  module imported on first use builds a dataclass or a namedtuple (both compile their
  methods with ``exec``), likely on a loaded machine: hipaactl imports its heavy modules
  inside the commands. CPython then ends a ``python -m`` run with SIGINT if the
  exception was a plain ``KeyboardInterrupt`` (see ``hipaactl.errors.Interrupted``).
- ``finalizer``: a ``__del__`` method, as when an import frees its module lock (a
  weakref callback). Python prints the exception raised there and drops it.

Run with ``-m``, as ``python -m hipaactl`` is.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

from hipaactl.cli import main
from hipaactl.model.state import AccountInfo
from hipaactl.providers.ctm.mapping import CtmProvider

WHERE = sys.argv.pop(1)
SIGNAL = signal.Signals[sys.argv.pop(1)]


class Finalized:
    def __del__(self) -> None:
        signal.raise_signal(SIGNAL)


def raise_signal() -> None:
    if WHERE == "exec":
        exec(f"import signal\nsignal.raise_signal(signal.{SIGNAL.name})\n")
    else:
        Finalized()  # freed at once: __del__ runs here


_list_accounts = CtmProvider.list_accounts
_account_pages = CtmProvider.account_pages


def list_accounts(self: CtmProvider) -> tuple[AccountInfo, ...]:
    raise_signal()  # check, and plans with --target, list the accounts this way
    return _list_accounts(self)


def account_pages(self: CtmProvider) -> Iterator[tuple[AccountInfo, ...]]:
    raise_signal()  # plan and apply list the accounts page by page
    yield from _account_pages(self)


CtmProvider.list_accounts = list_accounts  # type: ignore[method-assign]
CtmProvider.account_pages = account_pages  # type: ignore[method-assign]
main()
