"""Live state as a desired-state file: what ``hipaactl import`` writes.

Pure: the current config and the live values in, TOML text out. Every value is formatted
by tomli-w one key at a time, so comments (a key left out, a policy violation) can stand
on the line above the key they are about. A key is written only when live state says one
thing for it; where an account's call-settings profiles disagree it is left out, which
leaves it unmanaged, and a comment says why.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from hipaactl.config.keys import format_key_path
from hipaactl.config.model import (
    DEFAULT_AUDIT_PATH,
    DEFAULT_PARALLELISM,
    DEFAULT_RATE_LIMIT,
    AccountSelector,
    Config,
    ProviderSettings,
)
from hipaactl.live.scope import find_exclusion
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address, quoted, resource_address
from hipaactl.model.state import (
    ROLES,
    AccountInfo,
    AccountState,
    AgencySecurity,
    CallSettings,
    Unrecognized,
    User,
)
from hipaactl.plan.desired import (
    CALL_SETTINGS_KEYS,
    SETTINGS_KEYS,
)
from hipaactl.policy.model import Pack, RuleResult
from hipaactl.policy.packs import BUILTIN_PREFIX
from hipaactl.policy.views import DECLARED_PROFILE_ID

AGENCY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(AgencySecurity))
TRANSCRIPTION_KEY = "transcription"
OFF = "off"

# Fields that policy views derive for rules, and the config key that declares each.
_VIEW_FIELD_KEYS: Mapping[str, Mapping[str, str]] = {
    "agency.security": {key: key for key in AGENCY_KEYS},
    "settings": SETTINGS_KEYS,
    "call_settings": {**CALL_SETTINGS_KEYS, "records": "recordings.enabled"},
    "user": {"email": "email", "local_part": "email", "role": "role"},
}

_LIVE_PROFILE = re.compile(r"^(account\[\d+\]\.call_settings)\[.*\]$")

_NOT_MANAGED_NOTE = (
    "Keys left out are not managed: plan never changes them (check still audits them).",
    "notifications.phi_fields is left out on purpose: notification and trigger fields stay",
    "as they are, so plan on this file shows no changes for them. To remove PHI fields,",
    'add notifications = { phi_fields = "strip" } to [defaults] or to an [[account]].',
    "users.mode is left out (additive): users not listed here are never removed.",
)


@dataclass(frozen=True)
class ImportSource:
    """What the file is made from. ``out_dir`` is the folder of the file written: paths
    in it (seed, pack files, audit log) are relative to that folder."""

    config: Config
    packs: tuple[Pack, ...]
    agency: AgencySecurity | None
    accounts: tuple[AccountState, ...]
    out_dir: Path
    today: dt.date
    # Live values the config cannot express (found by loading a first draft): key path
    # -> why, and users (by lowercased email) -> why. They are left out with a comment.
    refused: Mapping[str, str] = field(default_factory=dict)
    refused_users: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    rule_id: str
    enforcement: str  # "mandatory", "advisory" or "waived"
    message: str

    @classmethod
    def of(cls, result: RuleResult) -> Violation:
        """The violation a failed result puts on its key; a waived result shows ``waived``."""
        enforcement = "waived" if result.waived else result.rule.enforcement
        return cls(result.rule.id, enforcement, result.message)

    def describe(self) -> str:
        """``violates <rule> (<enforcement>): <message>``, the comment above the key."""
        return f"violates {self.rule_id} ({self.enforcement}): {self.message}"


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` line; ``path`` is its config key path (``account[#0].redaction``)."""

    key: str
    value: Any = field(hash=False)
    path: str


@dataclass(frozen=True)
class Omitted:
    """A key left out (so not managed), and why: a comment line where the key would be.
    ``path`` is the key path it would have; a rule the live value fails is named under it."""

    path: str
    text: str


Item = Entry | Omitted | str  # a str is a comment line


@dataclass(frozen=True)
class Table:
    header: str | None  # None: top-level keys, or a block of pre-formatted text
    items: tuple[Item, ...] = ()
    comments: tuple[str, ...] = ()  # above the header
    text: str = ""  # tomli-w output of a section carried over as a whole


@dataclass(frozen=True)
class Document:
    tables: tuple[Table, ...]
    # Resource address (as the gate names it) -> key path prefix of its keys in the file.
    addresses: Mapping[str, tuple[str, str]] = field(hash=False)  # (prefix, resource type)
    entries: Mapping[str, Entry] = field(hash=False)  # by key path, in file order
    account_ids: Mapping[str, int] = field(hash=False)  # "account[#0]" -> 1001
    notes: tuple[str, ...] = ()  # keys left out, for warnings
    omitted: Mapping[str, Omitted] = field(default_factory=dict, hash=False)  # by key path


# -- formatting ------------------------------------------------------------------------


def comment(text: str) -> str:
    """A comment line; live data (names, ids) can hold anything, so keep it on one line."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return f"# {flat}".rstrip()


def toml_line(key: str, value: Any) -> str:
    """``key = value`` as one line of TOML."""
    return tomli_w.dumps({key: value}).rstrip("\n")


def relative_path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, with forward slashes; absolute when it can't be
    (another drive on Windows)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return path.as_posix()


def on_off(value: object) -> str:
    """``on``/``off`` for a bool, else the value as text."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


# -- the top of the file: what is carried over from the current config ---------------------


def header_comments(source: ImportSource) -> tuple[str, ...]:
    """The comment lines at the top of the imported file: date, source and how to review."""
    count = len(source.accounts)
    config_name = relative_path(source.config.path, source.out_dir)
    return (
        f"Generated by hipaactl import on {source.today.isoformat()} from {config_name}",
        f"and the live state of its {source.config.provider.kind} provider"
        f" ({count} account{'s' if count != 1 else ''}).",
        'Review it before committing: every "violates" comment marks a live value that',
        'fails a policy rule, and every "left out" comment a key that is not managed.',
    )


def policy_refs(source: ImportSource) -> list[str]:
    """Pack ids as they are; pack file paths made relative to the new file's folder."""
    files = {p.source_path for p in source.packs if not p.source_path.startswith(BUILTIN_PREFIX)}
    config_dir = source.config.directory
    return [
        relative_path(config_dir / ref, source.out_dir) if ref in files else ref
        for ref in source.config.policies
    ]


def provider_section(settings: ProviderSettings, out_dir: Path) -> dict[str, Any]:
    """The config's ``[provider]`` table, with only keys that differ from the defaults and
    the seed path relative to ``out_dir``.
    """
    section: dict[str, Any] = {"kind": settings.kind}
    if settings.seed is not None:
        section["seed"] = relative_path(settings.seed, out_dir)
    if settings.base_url is not None:
        section["base_url"] = settings.base_url
    if settings.rate_limit != DEFAULT_RATE_LIMIT:
        section["rate_limit"] = settings.rate_limit
    if settings.parallelism != DEFAULT_PARALLELISM:
        section["parallelism"] = settings.parallelism
    if settings.endpoints:
        section["endpoints"] = dict(sorted(settings.endpoints.items()))
    return section


def top_table(source: ImportSource) -> Table:
    """The top-level keys: ``version`` and ``policies``, under the header comments."""
    items = (
        Entry("version", source.config.version, "version"),
        Entry("policies", policy_refs(source), "policies"),
    )
    return Table(None, items, comments=header_comments(source))


def text_table(document: Mapping[str, Any], comments: Sequence[str] = ()) -> Table:
    """A table written by tomli-w from ``document``, under ``comments``."""
    return Table(None, comments=tuple(comments), text=tomli_w.dumps(document))


def _exclusions_kept(
    selector: AccountSelector, infos: Sequence[AccountInfo]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``exclude`` entries to keep: an account imported by ``--account`` can't also be
    excluded (that is a config error), so the exclusions that match it are dropped."""
    dropped: list[str] = []
    remaining = list(selector.exclude)
    for info in infos:
        while (
            found := find_exclusion(replace(selector, exclude=tuple(remaining)), info)
        ) is not None:
            remaining.remove(found)
            what = f"id = {found.id}" if found.id is not None else f'name = "{found.name}"'
            dropped.append(f"exclusion {what} dropped: account {info.id} is imported")
    kept = []
    for exclusion in remaining:
        entry: dict[str, Any] = {"id": exclusion.id} if exclusion.id is not None else {}
        if exclusion.name is not None:
            entry["name"] = exclusion.name
        entry["reason"] = exclusion.reason
        kept.append(entry)
    return kept, dropped


def accounts_table(source: ImportSource) -> tuple[list[Table], list[str]]:
    """``[accounts]`` as declared, less the exclusions of imported accounts (and notes
    saying which were dropped)."""
    selector = source.config.selector
    if selector.include is None:
        return [], []
    kept, dropped = _exclusions_kept(selector, [a.info for a in source.accounts])
    section: dict[str, Any] = {"include": list(selector.include)}
    if kept:
        section["exclude"] = kept
    return [text_table({"accounts": section}, dropped)], [f"accounts.exclude: {d}" for d in dropped]


def carried_tables(source: ImportSource) -> list[Table]:
    """``[attestations]``, ``[integrations]``, ``[policy.overrides]`` and ``[audit]`` as
    the current config declares them."""
    config = source.config
    tables: list[Table] = []
    attestations = _attestations_section(config, source.out_dir)
    if attestations:
        tables.append(text_table({"attestations": attestations}))
    if config.integrations is not None:
        allow = [
            {"name": i.name, **({"host": i.host} if i.host else {}), "baa": i.baa}
            for i in config.integrations
        ]
        tables.append(text_table({"integrations": {"allow": allow}}))
    if config.overrides:
        overrides = {
            o.rule_id: {
                "enforcement": o.enforcement,
                "reason": o.reason,
                "approved_by": o.approved_by,
                "expires_on": o.expires_on,
            }
            for o in sorted(config.overrides, key=lambda o: o.rule_id)
        }
        tables.append(text_table({"policy": {"overrides": overrides}}))
    if config.audit_path != config.directory / DEFAULT_AUDIT_PATH:
        audit = {"path": relative_path(config.audit_path, source.out_dir)}
        tables.append(text_table({"audit": audit}))
    return tables


def _attestations_section(config: Config, out_dir: Path) -> dict[str, Any]:
    attestations = config.attestations
    section: dict[str, Any] = {}
    if attestations.max_age_days is not None:
        section["max_age_days"] = attestations.max_age_days
    baa = attestations.baa
    if baa is not None:
        section["baa"] = {
            "counterparty": baa.counterparty,
            "effective_on": baa.effective_on,
            "confirmed_on": baa.confirmed_on,
            "by": baa.by,
        }
        if baa.document is not None:
            # Relative to the config file, like every path in it: rewritten for the new one.
            document = relative_path(config.directory / baa.document, out_dir)
            section["baa"]["document"] = document
    logins = attestations.individual_logins
    if logins is not None:
        section["individual_logins"] = {"confirmed_on": logins.confirmed_on, "by": logins.by}
    if attestations.facts:
        section["facts"] = {
            f.rule_id: {"confirmed_on": f.confirmed_on, "by": f.by, "note": f.note}
            for f in attestations.facts
        }
    return section


# -- live values ---------------------------------------------------------------------------


def _inexpressible(key: str, value: Any) -> str | None:
    """Why a live value can't be written to the config, or None when it can."""
    if value is None:
        return "it could not be read"
    if isinstance(value, Unrecognized):
        return f"the live value {json.dumps(value.raw)} is not one the config can express"
    if key == "recording_link_expiry_days" and value == 0:
        return "the live value is 0 (links never expire), which the config cannot express"
    return None


def refused_value(path: str, key: str, value: Any, reason: str) -> Omitted:
    """The comment standing for a live value the config cannot express: what it was and
    why the loader refused it (``reason`` is the loader's message)."""
    shown = toml_line("v", value).partition(" = ")[2] if _tomlable(value) else repr(value)
    return Omitted(
        path, f"{key} left out: the live value {shown} cannot be written here ({reason})"
    )


def _tomlable(value: Any) -> bool:
    try:
        toml_line("v", value)
    except (TypeError, ValueError):
        return False
    return True


def agency_table(
    agency: AgencySecurity | None, refused: Mapping[str, str] | None = None
) -> tuple[Table, list[str]]:
    """``[agency.security]`` with each key read live; keys not read, or whose live value
    the config cannot express (``refused``), are left out with a comment and a note.
    """
    items: list[Item] = []
    notes: list[str] = []
    refused = refused or {}
    for key in AGENCY_KEYS:
        value = None if agency is None else getattr(agency, key)
        path = f"{AGENCY_ADDRESS}.{key}"
        reason = _inexpressible(key, value)
        if path in refused:
            omitted = refused_value(path, key, value, refused[path])
            items.append(omitted)
            notes.append(f"{AGENCY_ADDRESS}.{omitted.text}")
        elif reason is not None:
            items.append(Omitted(path, f"{key} left out: {reason}"))
            notes.append(f"{AGENCY_ADDRESS}.{key} left out: {reason}")
        else:
            items.append(Entry(key, value, f"{AGENCY_ADDRESS}.{key}"))
    return Table("[agency.security]", tuple(items)), notes


@dataclass(frozen=True)
class AccountValues:
    """An account's config keys (``recordings.enabled``) and, by key, why others were
    left out."""

    values: dict[str, Any]
    notes: list[tuple[str, str]]


def settings_keys(state: AccountState) -> AccountValues:
    """Keys declared by the account's settings alone (not ``transcription``, which the
    profiles decide)."""
    found = AccountValues({}, [])
    for live_field, key in SETTINGS_KEYS.items():
        if key == TRANSCRIPTION_KEY:
            continue
        value = None if state.settings is None else getattr(state.settings, live_field)
        reason = _inexpressible(live_field, value)
        if reason is not None:
            found.notes.append((key, f"{key} left out: {live_field}: {reason}"))
        else:
            found.values[key] = value
    return found


def _profile_state(profile: CallSettings, live_fields: Sequence[str]) -> str:
    values = [getattr(profile, f) for f in live_fields]
    if len(set(values)) == 1:
        return f"{profile.id} {on_off(values[0])}"
    return f"{profile.id} " + "/".join(
        f"{f} {on_off(v)}" for f, v in zip(live_fields, values, strict=True)
    )


def agreed_profile_value(key: str, profiles: Sequence[CallSettings]) -> tuple[Any, str | None]:
    """The one value every profile (and every field of it) has for ``key``, or a note
    saying how they disagree."""
    live_fields = [f for f, k in CALL_SETTINGS_KEYS.items() if k == key]
    values = {getattr(p, f) for p in profiles for f in live_fields}
    if len(values) == 1:
        return values.pop(), None
    states = ", ".join(_profile_state(p, live_fields) for p in profiles)
    return None, f"{key} left out: profiles disagree ({states})"


def profile_keys(state: AccountState) -> AccountValues:
    """Keys the call-settings profiles decide; ``transcription`` also needs the mode."""
    found = AccountValues({}, [])
    profiles = sorted(state.call_settings or (), key=lambda p: p.id)
    keys = list(dict.fromkeys(CALL_SETTINGS_KEYS.values()))
    if not profiles:
        reason = (
            "its call-settings profiles could not be read"
            if state.call_settings is None
            else "the account has no call-settings profiles"
        )
        found.notes.extend((key, f"{key} left out: {reason}") for key in keys)
        return found
    for key in keys:
        value, note = agreed_profile_value(key, profiles)
        if note is None:
            note = _inexpressible(key, value)
            note = None if note is None else f"{key} left out: {note}"
        if note is not None:
            found.notes.append((key, note))
        elif key != TRANSCRIPTION_KEY:
            found.values[key] = value
        elif value is False:
            found.values[key] = OFF
        elif state.settings is None or not isinstance(
            mode := state.settings.transcription_mode, str
        ):
            found.notes.append((key, f"{key} left out: transcription_mode could not be read"))
        else:
            found.values[key] = mode
    return found


def account_values(state: AccountState) -> AccountValues:
    """The account's settings and profile keys as config values, and notes on keys left out."""
    settings, profiles = settings_keys(state), profile_keys(state)
    return AccountValues({**settings.values, **profiles.values}, settings.notes + profiles.notes)


# Where each account key goes: the [[account]] table itself or a sub-table, in file order.
_ACCOUNT_LAYOUT: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, ("transcription", "redaction")),
    ("recordings", ("enabled", "encrypted", "encrypted_storage")),
    ("caller_id", ("enabled", "enhanced")),
)


def account_tables(
    index: int, state: AccountState, source: ImportSource | None = None
) -> tuple[list[Table], list[str]]:
    """The ``[[account]]`` table at ``index`` and its sub-tables and users, and notes on
    keys (and users) left out.
    """
    prefix = format_key_path(("account", index))
    found = account_values(state)
    refused = source.refused if source is not None else {}
    for key in list(found.values):
        path = f"{prefix}.{key}"
        if path in refused:
            value = found.values.pop(key)
            found.notes.append((key, refused_value(path, key, value, refused[path]).text))
    info = state.info
    head: list[Item] = [
        Entry("id", info.id, f"{prefix}.id"),
        *(Omitted(f"{prefix}.{key}", text) for key, text in found.notes),
    ]
    tables: list[Table] = []
    for sub, keys in _ACCOUNT_LAYOUT:
        name = "" if sub is None else f"{sub}."
        entries = tuple(
            Entry(key, found.values[name + key], f"{prefix}.{name}{key}")
            for key in keys
            if name + key in found.values
        )
        if sub is None:
            head.extend(entries)
        elif entries:
            tables.append(Table(f"[account.{sub}]", entries))
    about = f"{info.name} (plan: {info.plan}, status: {info.status})"
    first = Table("[[account]]", tuple(head), comments=(about,))
    notes = [f"{prefix} (account {info.id}): {text}" for _, text in found.notes]
    users, user_notes = user_tables(
        index, state.users or (), source.refused_users if source is not None else {}
    )
    notes.extend(f"{prefix} (account {info.id}): {n}" for n in user_notes)
    if user_notes:
        first = replace(first, items=(*first.items, *user_notes))
    return [first, *tables, *users], notes


def unique_users(users: Iterable[User]) -> list[User]:
    """Sorted by lowercased email; CTM has one login per address, so a repeat is dropped."""
    seen: dict[str, User] = {}
    for user in sorted(users, key=lambda u: (u.key, u.email)):
        seen.setdefault(user.key, user)
    return list(seen.values())


def expressible_users(users: Iterable[User]) -> tuple[list[User], list[str]]:
    """The users the config can declare, and a note for each one whose live role it
    cannot (any string CTM returns is kept; the config knows SPEC section 2's roles)."""
    kept: list[User] = []
    notes: list[str] = []
    for user in unique_users(users):
        if user.role in ROLES:
            kept.append(user)
        else:
            notes.append(
                f"user {user.key} left out: its live role {json.dumps(user.role)} is not one "
                "the config can express"
            )
    return kept, notes


def kept_users(users: Iterable[User], refused: Mapping[str, str]) -> tuple[list[User], list[str]]:
    """The distinct users written, sorted by email, and a note for each one left out:
    a live role the config cannot express, or a value the loader refused (``refused``,
    by lowercased email)."""
    expressible, notes = expressible_users(users)
    notes.extend(
        f"user {u.email} left out: {refused[u.key]}" for u in expressible if u.key in refused
    )
    return [u for u in expressible if u.key not in refused], notes


def user_tables(
    index: int, users: Iterable[User], refused: Mapping[str, str] | None = None
) -> tuple[list[Table], list[str]]:
    """One ``[[account.user]]`` per live user; a user the config cannot express (a role
    it does not know, a blank name) is left out whole, with a note: additive mode never
    removes a user that is not declared. A user not active in CTM gets a comment."""
    kept, notes = kept_users(users, refused or {})
    tables = []
    for position, user in enumerate(kept):
        prefix = format_key_path(("account", index, "user", position))
        entries = tuple(
            Entry(key, getattr(user, key), f"{prefix}.{key}")
            for key in ("email", "first_name", "last_name", "role")
        )
        status = () if user.status == "active" else (f"status in CTM: {user.status}",)
        tables.append(Table("[[account.user]]", entries, comments=status))
    return tables, notes


def account_addresses(
    index: int, state: AccountState, refused_users: Mapping[str, str] | None = None
) -> dict[str, tuple[str, str]]:
    """The gate's addresses of a declared account, and the key path prefix of each."""
    prefix = format_key_path(("account", index))
    profile = resource_address(state.id, "call_settings", DECLARED_PROFILE_ID)
    found = {
        resource_address(state.id, "settings"): (prefix, "settings"),
        profile: (prefix, "call_settings"),
    }
    for position, user in enumerate(kept_users(state.users or (), refused_users or {})[0]):
        user_prefix = format_key_path(("account", index, "user", position))
        found[f"{account_address(state.id)}.user[{quoted(user.key)}]"] = (user_prefix, "user")
    return found


# -- the document ----------------------------------------------------------------------


def build_document(source: ImportSource) -> Document:
    """The TOML document ``import`` writes for ``source``: provider, agency and per-account
    tables, with the address -> key path index the gate needs and notes on keys left out.
    """
    agency, notes = agency_table(source.agency, source.refused)
    tables = [
        top_table(source),
        text_table({"provider": provider_section(source.config.provider, source.out_dir)}),
        agency,
    ]
    accounts, dropped = accounts_table(source)
    tables.extend(accounts)
    notes.extend(dropped)
    tables.extend(carried_tables(source))
    addresses: dict[str, tuple[str, str]] = {AGENCY_ADDRESS: (AGENCY_ADDRESS, "agency.security")}
    account_ids: dict[str, int] = {}
    for index, state in enumerate(sorted(source.accounts, key=lambda s: s.id)):
        account, account_notes = account_tables(index, state, source)
        if index == 0:
            first = account[0]
            account[0] = replace(first, comments=(*_NOT_MANAGED_NOTE, "", *first.comments))
        tables.extend(account)
        notes.extend(account_notes)
        addresses.update(account_addresses(index, state, source.refused_users))
        account_ids[format_key_path(("account", index))] = state.id
    items = [item for table in tables for item in table.items]
    entries = {item.path: item for item in items if isinstance(item, Entry)}
    omitted = {item.path: item for item in items if isinstance(item, Omitted)}
    return Document(tuple(tables), addresses, entries, account_ids, tuple(notes), omitted)


def render_table(table: Table, violations: Mapping[str, Sequence[Violation]]) -> str:
    """One table as TOML text, each key preceded by the violations on it."""
    lines = [comment(c) for c in table.comments]
    if table.header is not None:
        lines.append(table.header)
    for item in table.items:
        if isinstance(item, str):
            lines.append(comment(item))
            continue
        if isinstance(item, Omitted):
            lines.append(comment(item.text))
            lines.extend(
                comment(f"live value {v.describe()}") for v in violations.get(item.path, ())
            )
            continue
        lines.extend(comment(v.describe()) for v in violations.get(item.path, ()))
        lines.append(toml_line(item.key, item.value))
    if table.text:
        lines.append(table.text.rstrip("\n"))
    return "\n".join(lines) + "\n"


def render_document(
    document: Document, violations: Mapping[str, Sequence[Violation]] | None = None
) -> str:
    """The document as TOML text; each key a rule in ``violations`` (by key path) fails
    gets a comment naming the rule.
    """
    return "\n".join(render_table(t, violations or {}) for t in document.tables)


# -- the gate's verdict, mapped back onto the keys written ----------------------------------


def key_of(document: Document, result: RuleResult) -> str | None:
    """The key path in the file that declares (or would declare, when it was left out)
    the value ``result`` is about. A live call-settings profile is declared by its
    account's one set of profile keys."""
    profile = _LIVE_PROFILE.match(result.address)
    address = f"{profile.group(1)}[{quoted(DECLARED_PROFILE_ID)}]" if profile else result.address
    found = document.addresses.get(address)
    if found is None:
        return None
    prefix, resource_type = found
    key = _VIEW_FIELD_KEYS.get(resource_type, {}).get(result.rule.check.field)
    if key is None:
        return None
    path = f"{prefix}.{key}"
    return path if path in document.entries or path in document.omitted else None


def violations_by_key(
    document: Document, results: Iterable[RuleResult]
) -> tuple[dict[str, tuple[Violation, ...]], list[str]]:
    """Failed gate results by the key they are about, sorted by rule id; and a line for
    each failure that names no key written here."""
    found: dict[str, list[Violation]] = {}
    unplaced: list[str] = []
    for result in sorted(results, key=lambda r: (r.rule.id, r.address)):
        if result.status != "fail":
            continue
        key = key_of(document, result)
        if key is None:
            unplaced.append(f"{result.address} {Violation.of(result).describe()}")
        else:
            found.setdefault(key, []).append(Violation.of(result))
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}, unplaced


def describe_key(document: Document, path: str) -> str:
    """``account[#0].redaction (account 1001) = "off"``: the position in the file, the
    account it is, and the value written (or that it was left out)."""
    entry = document.entries.get(path)
    account = path.partition(".")[0]
    account_id = document.account_ids.get(account)
    where = path if account_id is None else f"{path} (account {account_id})"
    if entry is None:
        return f"{where} (left out; its live value)"
    value = toml_line("v", entry.value).partition(" = ")[2]
    return f"{where} = {value}"


def violation_warnings(
    document: Document, violations: Mapping[str, Sequence[Violation]], file_name: str
) -> list[str]:
    """One warning per violation, in file order."""
    return [
        f"{file_name}: {describe_key(document, path)} {violation.describe()}"
        for path in [*document.entries, *document.omitted]
        for violation in violations.get(path, ())
    ]
