"""``--target`` matching: ``account[1]`` selects ``account[1].x`` but never ``account[1001]``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def selects(target: str, address: str) -> bool:
    return address == target or address.startswith((target + ".", target + "["))


def may_select_within(target: str, prefix: str) -> bool:
    """Whether ``target`` can select some address at or below ``prefix``, so that
    the resources under ``prefix`` must be read."""
    return selects(target, prefix) or selects(prefix, target)


def wanted(targets: Sequence[str], prefix: str) -> bool:
    return not targets or any(may_select_within(t, prefix) for t in targets)


def is_selected(targets: Sequence[str], address: str) -> bool:
    return not targets or any(selects(t, address) for t in targets)


def unmatched(targets: Sequence[str], addresses: Iterable[str]) -> list[str]:
    known = list(addresses)
    return [t for t in targets if not any(selects(t, a) for a in known)]
