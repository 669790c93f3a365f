"""Load ``hipaa.toml``: bytes -> UTF-8 -> TOML -> schema and cross-field rules -> Config.

Every problem of a file is collected before any is reported (SPEC section 2), so one run
of ``validate`` shows them all. A file that cannot be read, decoded or parsed stops
early with its one problem: nothing after that step can be trusted.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hipaactl.canonical import DocumentError, parse_toml, sha256_hex
from hipaactl.config.keys import (
    KeyPath,
    find_secret_keys,
    format_key_path,
    line_of,
    scan_key_lines,
)
from hipaactl.config.model import (
    DEFAULT_AUDIT_PATH,
    AccountDesired,
    AccountSelector,
    AccountSpec,
    AgencySecurityDesired,
    AllowedIntegration,
    Attestations,
    BaaAttestation,
    Config,
    Exclusion,
    FactAttestation,
    IndividualLoginsAttestation,
    Override,
    ProviderSettings,
    UserDesired,
)
from hipaactl.config.schema import (
    AccountSettingsModel,
    AgencyModel,
    AttestationsModel,
    ConfigFileModel,
    PolicyModel,
    ProviderModel,
    SchemaProblem,
    UserModel,
    validate_document,
)
from hipaactl.errors import ConfigError, ConfigIssue
from hipaactl.files import shown_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CREDENTIALS_MESSAGE = (
    "looks like a credential and is refused: credentials are read only from the "
    "environment: CTM_ACCESS_KEY / CTM_SECRET_KEY (or CTM_ACCESS_KEY_FILE / "
    "CTM_SECRET_KEY_FILE naming files that hold them). Remove it from the file, and "
    "rotate the credential if the file was ever shared or committed"
)

INT64_MESSAGE = (
    "is beyond the 64-bit range TOML integers have (-2^63 to 2^63-1); use a smaller number"
)
_INT64 = range(-(2**63), 2**63)
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")
_UTF8_BOM = b"\xef\xbb\xbf"
_T = TypeVar("_T")

# Dates that record something already done: a future one is a typo or wishful thinking.
_PAST_DATES: tuple[KeyPath, ...] = (
    ("attestations", "baa", "effective_on"),
    ("attestations", "baa", "confirmed_on"),
    ("attestations", "individual_logins", "confirmed_on"),
)


def load_config(path: Path, *, today: dt.date | None = None, check_files: bool = True) -> Config:
    """The validated config, or ConfigError listing every problem of the file.

    ``today`` decides which dates are in the future; ``check_files`` makes the files the
    config names (the sandbox seed) part of validation.
    """
    config, issues = load_config_issues(path, today=today, check_files=check_files)
    if config is None:
        raise ConfigError(issues)
    return config


def load_config_issues(
    path: Path, *, today: dt.date | None = None, check_files: bool = True
) -> tuple[Config | None, list[ConfigIssue]]:
    """``(config, [])``, or ``(None, issues)`` sorted by line and key (for ``validate``)."""
    try:
        return _load(path, today or dt.date.today(), check_files), []
    except ConfigError as exc:
        return None, sort_issues(exc.issues)


def sort_issues(issues: tuple[ConfigIssue, ...] | list[ConfigIssue]) -> list[ConfigIssue]:
    """The issues without duplicates, by line (unlocated first), key, column, message."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.line or 0, i.key, i.column or 0, i.message))


def _load(path: Path, today: dt.date, check_files: bool) -> Config:
    data = _read_bytes(path)
    text = _decode(path, data)
    document = _parse(path, text)
    key_lines = scan_key_lines(text)
    secrets = list(find_secret_keys(document))
    # Drop credential-looking keys before the schema sees them: they are reported once,
    # by name, and their values go no further. Integers TOML cannot hold go the same way.
    for secret in secrets:
        _delete(document, secret)
    huge = [p for p in _huge_integers(document, ()) if p not in secrets]
    for path_ in reversed(huge):  # later list items first: positions stay right
        _delete(document, path_)
    model, problems = validate_document(document)
    problems = [
        *(SchemaProblem(s, CREDENTIALS_MESSAGE) for s in secrets),
        *(SchemaProblem(h, INT64_MESSAGE) for h in huge),
        *(p for p in problems if p.path not in huge),  # not "missing" once removed
    ]
    context = _Context(document, path.resolve().parent, today, check_files)
    problems += [p for rule in _RULES for p in rule(context)]
    if problems or model is None:
        raise ConfigError([_issue(path, p, key_lines) for p in problems])
    return _build(model, path, data, key_lines)


def _issue(path: Path, problem: SchemaProblem, key_lines: dict[str, int]) -> ConfigIssue:
    key = format_key_path(problem.path)
    return ConfigIssue(
        file=str(path), key=key, message=problem.message, line=line_of(key, key_lines)
    )


def _file_issue(
    path: Path, message: str, line: int | None = None, column: int | None = None
) -> ConfigError:
    return ConfigError([ConfigIssue(str(path), "", message, line, column)])


# -- bytes, text, TOML ------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise _file_issue(path, "is a directory; pass the path of the TOML file with -c FILE")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _file_issue(
            path,
            "file not found; pass -c FILE or set HIPAACTL_CONFIG, "
            "or run `hipaactl init` to write a starter hipaa.toml",
        ) from None
    except OSError as exc:
        raise _file_issue(path, f"cannot read the file: {exc.strerror or exc}") from None


def _decode(path: Path, data: bytes) -> str:
    # Editors on Windows may write a byte order mark; it is not part of the TOML.
    body = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = body.rfind(b"\n", 0, exc.start) + 1
        line = body.count(b"\n", 0, exc.start) + 1
        column = len(body[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise _file_issue(
            path,
            f"is not valid UTF-8 (byte 0x{body[exc.start]:02x}); save the file as UTF-8",
            line,
            column,
        ) from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return parse_toml(text)
    except tomllib.TOMLDecodeError as exc:
        reason, line, column = _syntax_error(exc, text)
        reason = _duplicate_key_reason(reason, text, line)
        message = f"TOML syntax error: {reason}{_multiline_inline_table_hint(text, line)}"
        raise _file_issue(path, message, line, column) from None
    except DocumentError as exc:  # nesting or a number no config needs
        raise _file_issue(path, str(exc), None, None) from None


def _syntax_error(exc: ValueError, text: str) -> tuple[str, int | None, int | None]:
    """The reason, line and column of a TOML error. Python 3.14 has attributes for them;
    before, they are only in the message: "Invalid value (at line 3, column 7)"."""
    message = str(getattr(exc, "msg", None) or exc)
    line: int | None = getattr(exc, "lineno", None)
    column: int | None = getattr(exc, "colno", None)
    position = _TOML_POSITION.search(message)
    if position:
        line, column = int(position[1]), int(position[2])
    elif _TOML_AT_END.search(message):
        line = line or text.count("\n") + 1
    reason = _TOML_AT_END.sub("", _TOML_POSITION.sub("", message))
    return reason[:1].lower() + reason[1:], line, column


_ASSIGNED_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _duplicate_key_reason(reason: str, text: str, line: int | None) -> str:
    """tomllib says "cannot overwrite a value" for a key set twice; name the key."""
    lines = text.splitlines()
    if not reason.startswith("cannot overwrite a value") or line is None:
        return reason
    if not 0 < line <= len(lines):
        return reason
    found = _ASSIGNED_KEY.match(lines[line - 1])
    if found is None:
        return reason
    return f"duplicate key {found.group(1)!r}: a key may be set only once in a table"


def _multiline_inline_table_hint(text: str, line: int | None) -> str:
    """TOML 1.0 (tomllib) wants an inline table on one line; a table wrapped over two
    lines is an easy mistake (SPEC section 2's own example makes it)."""
    lines = text.splitlines()
    if line is None or not 0 < line <= len(lines):
        return ""
    source = lines[line - 1]
    if source.count("{") <= source.count("}"):
        return ""
    return "; an inline table { ... } must fit on one line: join its lines, or use a [table]"


def _huge_integers(node: Any, path: KeyPath) -> Iterator[KeyPath]:
    """Key paths of integers outside 64 bits: TOML 1.0 says such an integer must be an
    error, and Python's parser accepts any size."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _huge_integers(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _huge_integers(value, (*path, index))
    elif isinstance(node, int) and not isinstance(node, bool) and node not in _INT64:
        yield path


def _delete(document: Any, path: KeyPath) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


# -- rules across keys, on the raw document ----------------------------------------------
# They read the document as parsed, not the model, so they run even when the schema
# fails elsewhere and every problem is reported at once. Values of the wrong type are
# skipped here: the schema reports them.


@dataclass(frozen=True)
class _Context:
    document: dict[str, Any]
    directory: Path
    today: dt.date
    check_files: bool


def _table(node: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _tables(node: Any) -> list[tuple[int, dict[str, Any]]]:
    """The tables of an array of tables, with their positions."""
    if not isinstance(node, list):
        return []
    return [(i, item) for i, item in enumerate(node) if isinstance(item, dict)]


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _accounts(context: _Context) -> list[tuple[int, dict[str, Any]]]:
    return _tables(context.document.get("account"))


def _duplicate_account_ids(context: _Context) -> Iterator[SchemaProblem]:
    seen: dict[int, int] = {}
    for index, account in _accounts(context):
        account_id = _integer(account.get("id"))
        if account_id is None:
            continue
        if account_id in seen:
            first = format_key_path(("account", seen[account_id]))
            yield SchemaProblem(
                ("account", index, "id"),
                f"account {account_id} is declared twice (also {first}); "
                "merge the two [[account]] tables",
            )
        else:
            seen[account_id] = index


def _duplicate_user_emails(context: _Context) -> Iterator[SchemaProblem]:
    for index, account in _accounts(context):
        seen: dict[str, int] = {}
        for position, user in _tables(account.get("user")):
            email = user.get("email")
            if not isinstance(email, str):
                continue
            if email.lower() in seen:
                first = format_key_path(("account", index, "user", seen[email.lower()]))
                yield SchemaProblem(
                    ("account", index, "user", position, "email"),
                    f"user {email!r} is declared twice in this account (also {first}); "
                    "CTM compares emails case-insensitively",
                )
            else:
                seen[email.lower()] = position


def _exact_users_mode(context: _Context) -> Iterator[SchemaProblem]:
    # "exact" deletes every undeclared user, so it only makes sense next to a user list.
    if _table(context.document, "defaults", "users").get("mode") == "exact":
        yield SchemaProblem(
            ("defaults", "users", "mode"),
            'users.mode = "exact" deletes every user not declared, so it is not allowed in '
            "[defaults]; set it on each [[account]] that declares its users with [[account.user]]",
        )
    for index, account in _accounts(context):
        if _table(account, "users").get("mode") == "exact" and not _tables(account.get("user")):
            yield SchemaProblem(
                ("account", index, "users", "mode"),
                'users.mode = "exact" on an account that declares no [[account.user]] would '
                'delete all of its users; declare the users, or use mode = "additive"',
            )


def _excluded_accounts(context: _Context) -> Iterator[SchemaProblem]:
    excluded: dict[int, int] = {}
    for position, exclusion in _tables(_table(context.document, "accounts").get("exclude")):
        exclusion_id = _integer(exclusion.get("id"))
        if exclusion_id is not None:
            excluded.setdefault(exclusion_id, position)
    for index, account in _accounts(context):
        account_id = _integer(account.get("id"))
        if account_id in excluded:
            where = format_key_path(("accounts", "exclude", excluded[account_id]))
            yield SchemaProblem(
                ("account", index, "id"),
                f"account {account_id} is excluded by {where}, but an [[account]] is always "
                "managed; remove the exclusion or the [[account]] table",
            )


def _repeated_selectors(context: _Context) -> Iterator[SchemaProblem]:
    """An id (or name pattern) listed twice in ``[accounts] include`` or ``exclude``: a
    copy-paste slip that may hide the account that was meant to be listed."""
    accounts = _table(context.document, "accounts")
    include = accounts.get("include")
    seen: dict[tuple[str, Any], int] = {}
    for position, entry in enumerate(include if isinstance(include, list) else []):
        listing: KeyPath = ("accounts", "include")
        yield from _repeated(seen, _selector_key(entry), listing, position, ())
    seen = {}
    for position, exclusion in _tables(accounts.get("exclude")):
        for field_name in ("id", "name"):
            key = _selector_key(exclusion.get(field_name))
            yield from _repeated(seen, key, ("accounts", "exclude"), position, (field_name,))


def _selector_key(value: Any) -> tuple[str, Any] | None:
    """What makes two selectors the same: an account id, or a name pattern as written
    (values of the wrong type are the schema's to report)."""
    if _integer(value) is not None:
        return ("id", value)
    if isinstance(value, str) and value.strip():
        return ("name", value)
    return None


def _repeated(
    seen: dict[tuple[str, Any], int],
    key: tuple[str, Any] | None,
    listing: KeyPath,
    position: int,
    field_path: KeyPath,
) -> Iterator[SchemaProblem]:
    """A problem at ``listing[position]`` + ``field_path`` when ``key`` was seen at an
    earlier position of ``listing``; records it as seen otherwise."""
    if key is None:
        return
    first = seen.setdefault(key, position)
    if first == position:
        return
    kind, value = key
    what = f"account {value}" if kind == "id" else f"name pattern {value!r}"
    also = format_key_path((*listing, first))
    yield SchemaProblem(
        (*listing, position, *field_path),
        f"{what} is listed twice in {format_key_path(listing)} (also {also}); list it once",
    )


def _past_date_paths(context: _Context) -> list[KeyPath]:
    facts = _table(context.document, "attestations", "facts")
    fact_paths: list[KeyPath] = [
        ("attestations", "facts", str(rule_id), "confirmed_on") for rule_id in facts
    ]
    return [*_PAST_DATES, *fact_paths]


def _future_dates(context: _Context) -> Iterator[SchemaProblem]:
    for path in _past_date_paths(context):
        value = _table(context.document, *map(str, path[:-1])).get(str(path[-1]))
        # A date-time is a date too in Python; the schema refuses it.
        if type(value) is dt.date and value > context.today:
            yield SchemaProblem(
                path,
                f"{value.isoformat()} is in the future (today is {context.today.isoformat()}); "
                "an attestation records what has already been done",
            )


def _seed(context: _Context) -> Iterator[SchemaProblem]:
    provider = _table(context.document, "provider")
    seed, kind = provider.get("seed"), provider.get("kind", "sandbox")
    if not isinstance(seed, str) or not seed.strip():
        return
    if kind != "sandbox":
        yield SchemaProblem(
            ("provider", "seed"),
            f'seed is for kind = "sandbox" only; remove it (kind = {kind!r} reads live state '
            "from its API)",
        )
        return
    target = context.directory / seed
    if context.check_files and not target.is_file():
        what = "is a directory" if target.is_dir() else "does not exist"
        yield SchemaProblem(
            ("provider", "seed"),
            f"seed file {shown_path(target)} {what}; fix the path (relative to the config "
            "file) or run `hipaactl init DIR --example clinic` to write a sandbox seed",
        )


def _duplicate_integrations(context: _Context) -> Iterator[SchemaProblem]:
    seen: dict[str, int] = {}
    for position, entry in _tables(_table(context.document, "integrations").get("allow")):
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        first = seen.setdefault(name.strip().lower(), position)
        if first != position:
            where = format_key_path(("integrations", "allow", first))
            yield SchemaProblem(
                ("integrations", "allow", position, "name"),
                f"integration {name!r} is allowed twice (also {where}); names compare "
                "ignoring case: keep one entry",
            )


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _endpoint_placeholders(context: _Context) -> Iterator[SchemaProblem]:
    """An override keeps the placeholders of the path it replaces (``{aid}``, the
    account id), no more and no fewer: a path without ``{aid}`` would read one account's
    data for every account."""
    from hipaactl.providers.ctm.endpoints import ENDPOINTS_BY_NAME

    for name, path in _table(context.document, "provider", "endpoints").items():
        endpoint = ENDPOINTS_BY_NAME.get(name)
        if endpoint is None or not isinstance(path, str):
            continue  # the schema reports unknown names and wrong types
        where = ("provider", "endpoints", name)
        expected = set(_PLACEHOLDER.findall(endpoint.collection))
        rest = _PLACEHOLDER.sub("", path)
        if "{" in rest or "}" in rest:
            yield SchemaProblem(where, f"{path!r} has an unclosed {{ or }} placeholder")
            continue
        found = set(_PLACEHOLDER.findall(path))
        allowed = ", ".join(f"{{{p}}}" for p in sorted(expected)) or "none"
        for unknown in sorted(found - expected):
            yield SchemaProblem(
                where, f"unknown placeholder {{{unknown}}} in {path!r}; allowed: {allowed}"
            )
        for missing in sorted(expected - found):
            yield SchemaProblem(
                where,
                f"{path!r} lacks the placeholder {{{missing}}} of {endpoint.collection!r}",
            )


def _unknown_packs(context: _Context) -> Iterator[SchemaProblem]:
    from hipaactl.policy.packs import repeated_pack_refs, unknown_pack_refs, unusable_pack_refs

    refs = context.document.get("policies")
    if not isinstance(refs, list):
        return
    # Non-strings are the schema's to report.
    names = [r if isinstance(r, str) else "" for r in refs]
    for index, message in repeated_pack_refs(names, base_dir=context.directory):
        if names[index]:
            yield SchemaProblem(("policies", index), message)
    if not context.check_files:
        return
    for index, message in [
        *unknown_pack_refs(names, base_dir=context.directory),
        *unusable_pack_refs(names, base_dir=context.directory),
    ]:
        if names[index]:
            yield SchemaProblem(("policies", index), message)


_RULES: tuple[Callable[[_Context], Iterator[SchemaProblem]], ...] = (
    _duplicate_account_ids,
    _duplicate_user_emails,
    _exact_users_mode,
    _excluded_accounts,
    _repeated_selectors,
    _future_dates,
    _seed,
    _unknown_packs,
    _duplicate_integrations,
    _endpoint_placeholders,
)


# -- the model as frozen dataclasses ----------------------------------------------------


def _build(model: ConfigFileModel, path: Path, data: bytes, key_lines: dict[str, int]) -> Config:
    # The path as given (a symbolic link stays one): messages name what the user typed.
    # Relative paths inside the file still resolve from the real file's folder.
    absolute = Path(os.path.abspath(path))
    directory = path.resolve().parent
    defaults = model.defaults or AccountSettingsModel()
    audit_path = model.audit.path if model.audit is not None else DEFAULT_AUDIT_PATH
    return Config(
        path=absolute,
        sha256=sha256_hex(data),
        version=model.version,
        policies=tuple(model.policies),
        provider=_provider(model.provider, directory),
        agency_security=_agency_security(model.agency),
        defaults=_account_desired((defaults,), []),
        selector=_selector(model),
        accounts=tuple(
            AccountSpec(account.id, index, _account_desired((account, defaults), account.user))
            for index, account in enumerate(model.account)
        ),
        attestations=_attestations(model.attestations, directory),
        integrations=_integrations(model),
        overrides=_overrides(model.policy),
        # abspath, not resolve: the log itself must not be a symbolic link, and resolving
        # would hide one from the writer that refuses it (SPEC section 9).
        audit_path=Path(os.path.abspath(directory / audit_path)),
        key_lines=key_lines,
    )


def _provider(provider: ProviderModel, directory: Path) -> ProviderSettings:
    endpoints = provider.endpoints.model_dump(exclude_none=True) if provider.endpoints else {}
    return ProviderSettings(
        kind=provider.kind,
        seed=Path(os.path.abspath(directory / provider.seed))
        if provider.seed is not None
        else None,
        base_url=provider.base_url,
        rate_limit=provider.rate_limit,
        parallelism=provider.parallelism,
        endpoints=dict(sorted(endpoints.items())),
        allow_inferred_writes=provider.allow_inferred_writes,
    )


def _agency_security(agency: AgencyModel | None) -> AgencySecurityDesired:
    security = agency.security if agency is not None else None
    if security is None:
        return AgencySecurityDesired()
    return AgencySecurityDesired(
        idle_timeout_minutes=security.idle_timeout_minutes,
        two_factor=security.two_factor,
        require_login_for_recordings=security.require_login_for_recordings,
        allow_account_override=security.allow_account_override,
        allow_email_mfa=security.allow_email_mfa,
        recording_link_expiry_days=security.recording_link_expiry_days,
    )


def _first(values: Iterable[_T | None]) -> _T | None:
    """The first declared value: layers go from the most specific to ``[defaults]``."""
    return next((v for v in values if v is not None), None)


def _account_desired(
    layers: tuple[AccountSettingsModel, ...], users: list[UserModel]
) -> AccountDesired:
    """Merge ``[[account]]`` over ``[defaults]`` leaf by leaf: ``recordings = {encrypted =
    false}`` keeps ``enabled`` from ``[defaults]``."""
    recordings = [x.recordings for x in layers if x.recordings is not None]
    caller_id = [x.caller_id for x in layers if x.caller_id is not None]
    notifications = [x.notifications for x in layers if x.notifications is not None]
    extra_phi_fields = _first(n.extra_phi_fields for n in notifications) or []
    return AccountDesired(
        recordings_enabled=_first(r.enabled for r in recordings),
        recordings_encrypted=_first(r.encrypted for r in recordings),
        recordings_encrypted_storage=_first(r.encrypted_storage for r in recordings),
        transcription=_first(x.transcription for x in layers),
        redaction=_first(x.redaction for x in layers),
        caller_id_enabled=_first(c.enabled for c in caller_id),
        caller_id_enhanced=_first(c.enhanced for c in caller_id),
        phi_fields=_first(n.phi_fields for n in notifications),
        extra_phi_fields=tuple(extra_phi_fields),
        users_mode=_first(x.users.mode for x in layers if x.users is not None),
        users=tuple(
            UserDesired(u.email, u.first_name, u.last_name, u.role, index)
            for index, u in enumerate(users)
        ),
    )


def _selector(model: ConfigFileModel) -> AccountSelector:
    if model.accounts is None:
        return AccountSelector()
    return AccountSelector(
        include=tuple(model.accounts.include),
        exclude=tuple(Exclusion(e.reason, e.id, e.name) for e in model.accounts.exclude),
    )


def _document_sha256(directory: Path, document: str | None) -> str | None:
    """The SHA-256 of an attested document that exists beside the config; None when it
    is not named or not there (reports say so: an auditor will ask for it)."""
    if document is None:
        return None
    try:
        return sha256_hex((directory / document).read_bytes())
    except OSError:
        return None


def _attestations(attestations: AttestationsModel | None, directory: Path) -> Attestations:
    if attestations is None:
        return Attestations()
    baa, logins = attestations.baa, attestations.individual_logins
    return Attestations(
        baa=None
        if baa is None
        else BaaAttestation(
            baa.counterparty,
            baa.effective_on,
            baa.confirmed_on,
            baa.by,
            baa.document,
            _document_sha256(directory, baa.document),
        ),
        individual_logins=None
        if logins is None
        else IndividualLoginsAttestation(logins.confirmed_on, logins.by),
        max_age_days=attestations.max_age_days,
        facts=tuple(
            FactAttestation(rule_id, fact.confirmed_on, fact.by, fact.note)
            for rule_id, fact in sorted(attestations.facts.items())
        ),
    )


def _integrations(model: ConfigFileModel) -> tuple[AllowedIntegration, ...] | None:
    if model.integrations is None:
        return None
    return tuple(
        AllowedIntegration(i.name, i.baa, i.host.lower() if i.host else None)
        for i in model.integrations.allow
    )


def _overrides(policy: PolicyModel | None) -> tuple[Override, ...]:
    if policy is None:
        return ()
    return tuple(
        Override(rule_id, o.enforcement, o.reason, o.approved_by, o.expires_on)
        for rule_id, o in sorted(policy.overrides.items())
    )
