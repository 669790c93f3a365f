"""``--target`` matching: ``account[1]`` selects ``account[1].x`` but never ``account[1001]``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


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
