"""Which live accounts a config manages, excludes, or leaves unclassified."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from hipaactl.config.model import AccountSelector, Config, Exclusion
from hipaactl.model.state import AccountInfo


@dataclass(frozen=True)
class ExcludedAccount:
    info: AccountInfo
    reason: str


@dataclass(frozen=True)
class Scope:
    managed: tuple[AccountInfo, ...]
    excluded: tuple[ExcludedAccount, ...]
    unclassified: tuple[AccountInfo, ...]

    @property
    def managed_ids(self) -> tuple[int, ...]:
        """The CTM ids of the managed accounts, in ``managed`` order."""
        return tuple(a.id for a in self.managed)


def _matches(pattern: int | str, info: AccountInfo) -> bool:
    if isinstance(pattern, int):
        return pattern == info.id
    return fnmatchcase(info.name, pattern)


def find_exclusion(selector: AccountSelector, info: AccountInfo) -> Exclusion | None:
    """The first ``exclude`` entry matching ``info`` by id or by name (a case-sensitive
    shell glob, ``fnmatchcase``), or None (SPEC section 2).
    """
    for exclusion in selector.exclude:
        if exclusion.id is not None and exclusion.id == info.id:
            return exclusion
        if exclusion.name is not None and fnmatchcase(info.name, exclusion.name):
            return exclusion
    return None


def classify_accounts(config: Config, accounts: tuple[AccountInfo, ...]) -> Scope:
    """``[[account]]`` entries are always managed; ``[accounts] include`` adds the rest,
    minus exclusions. Results are sorted by account id."""
    declared = {spec.id for spec in config.accounts}
    include = config.selector.include or ()
    managed: list[AccountInfo] = []
    excluded: list[ExcludedAccount] = []
    unclassified: list[AccountInfo] = []
    for info in sorted(accounts, key=lambda a: a.id):
        exclusion = find_exclusion(config.selector, info)
        if info.id in declared:
            managed.append(info)
        elif exclusion is not None:
            excluded.append(ExcludedAccount(info, exclusion.reason))
        elif any(_matches(p, info) for p in include):
            managed.append(info)
        else:
            unclassified.append(info)
    return Scope(tuple(managed), tuple(excluded), tuple(unclassified))


SHOWN_NAMES = 10  # names listed when an include pattern matches nothing


def unmatched_includes(config: Config, accounts: Sequence[AccountInfo]) -> list[str]:
    """A warning for each ``[accounts] include`` entry that matches no live account (a
    typo, or an account renamed in CTM), listing the names seen so it can be fixed."""
    include = config.selector.include or ()
    missing = [p for p in include if not any(_matches(p, info) for info in accounts)]
    if not missing:
        return []
    names = [f"{info.id} {info.name!r}" for info in sorted(accounts, key=lambda a: a.id)]
    seen = ", ".join(names[:SHOWN_NAMES]) + (
        f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    )
    return [
        f"[accounts] include {pattern!r} matches no live account (globs compare names "
        f"case-sensitively); accounts seen: {seen or 'none'}"
        for pattern in missing
    ]
