"""Which live accounts a config manages, excludes, or leaves unclassified."""

from __future__ import annotations

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
