"""``python -m tests.e2e.signal_in_exec SIGNAL HIPAACTL-ARGS...``: hipaactl, with SIGNAL
(``SIGINT``, ``SIGTERM``) raised inside an ``exec()`` of a string as the run starts to
list the accounts, in this thread, while live state is read.

That is where an interrupt lands when it arrives while a module imported on first use
builds a dataclass or a namedtuple (both compile their methods with ``exec``), which is
likely on a loaded machine: hipaactl imports its heavy modules inside the commands. Run
with ``-m``, as ``python -m hipaactl`` is: that is the entry point on which CPython ends
the process with SIGINT after a plain ``KeyboardInterrupt`` once left an ``exec`` (see
``hipaactl.errors.Interrupted``).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

from hipaactl.cli import main
from hipaactl.model.state import AccountInfo
from hipaactl.providers.ctm.mapping import CtmProvider

SIGNAL = signal.Signals[sys.argv.pop(1)]
RAISE_IN_EXEC = f"import signal\nsignal.raise_signal(signal.{SIGNAL.name})\n"
_list_accounts = CtmProvider.list_accounts
_account_pages = CtmProvider.account_pages


def list_accounts(self: CtmProvider) -> tuple[AccountInfo, ...]:
    exec(RAISE_IN_EXEC)  # check, and plans with --target, list the accounts this way
    return _list_accounts(self)


def account_pages(self: CtmProvider) -> Iterator[tuple[AccountInfo, ...]]:
    exec(RAISE_IN_EXEC)  # plan and apply list the accounts page by page
    yield from _account_pages(self)


CtmProvider.list_accounts = list_accounts  # type: ignore[method-assign]
CtmProvider.account_pages = account_pages  # type: ignore[method-assign]
main()
