"""``--target`` matching: ``account[1]`` selects ``account[1].x`` but never ``account[1001]``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from hipaactl.model.changes import Change

_DIGITS = re.compile(r"(\d+)")


def selects(target: str, address: str) -> bool:
    """Whether ``target`` names ``address`` itself or an address below it (``.`` or ``[``),
    never a longer id that merely starts the same (``account[1]`` vs ``account[1001]``).
    """
    return address == target or address.startswith((target + ".", target + "["))


def may_select_within(target: str, prefix: str) -> bool:
    """Whether ``target`` can select some address at or below ``prefix``, so that
    the resources under ``prefix`` must be read."""
    return selects(target, prefix) or selects(prefix, target)


def wanted(targets: Sequence[str], prefix: str) -> bool:
    """Whether resources at or below ``prefix`` must be read: no targets means all of them."""
    return not targets or any(may_select_within(t, prefix) for t in targets)


def is_selected(targets: Sequence[str], address: str) -> bool:
    """Whether ``address`` is in the plan: no targets selects every address."""
    return not targets or any(selects(t, address) for t in targets)


def unmatched(targets: Sequence[str], addresses: Iterable[str]) -> list[str]:
    """The targets, in the given order, that select none of ``addresses``."""
    known = list(addresses)
    return [t for t in targets if not any(selects(t, a) for a in known)]


def nearest(target: str, addresses: Iterable[str], count: int = 5) -> list[str]:
    """The addresses most like ``target`` (a typo, a wrong id), best first."""
    return difflib.get_close_matches(target, sorted(set(addresses)), n=count, cutoff=0.5)


def address_sort_key(address: str) -> list[tuple[int, int | str]]:
    """Numbers compare as numbers: ``account[2]`` before ``account[1001]``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(address)]


def blocked_by_targets(
    selected: Sequence[Change], targets: Sequence[str]
) -> list[tuple[Change, str]]:
    """(change, dependency) for each selected change whose dependency ``--target`` leaves
    out: apply will skip that change (SPEC section 6), so a plan says so up front."""
    return [
        (change, dependency)
        for change in selected
        for dependency in change.depends_on
        if not is_selected(targets, dependency)
    ]
