"""Load policy packs: built-in ones by id, others by file path; validate the rule grammar.

Built-in packs are the TOML files of the repository's top-level ``policies/`` folder,
shipped inside the wheel as ``hipaactl/_packs/``. Nothing in a pack is code: rules are
checked here against the closed sets of the rule language and the fields each resource
type offers, so a typo fails at load, not at evaluation.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hipaactl.canonical import DocumentError, parse_toml, sha256_hex
from hipaactl.config.model import Config
from hipaactl.config.pack_schema import (
    ConditionModel,
    PackFile,
    PackHeader,
    RefModel,
    RuleModel,
    parse_pack,
)
from hipaactl.errors import ConfigError, ConfigIssue, PolicyPackError
from hipaactl.files import os_error_reason, shown_path
from hipaactl.model.changes import ACCOUNT_RESOURCE_TYPES
from hipaactl.policy.model import Condition, Pack, Ref, Rule
from hipaactl.policy.regex import PatternError, compile_pattern
from hipaactl.policy.views import RESOURCE_FIELDS

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable

    import tomllib
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

BUILTIN_PREFIX = "builtin:"
_PACK_SUFFIX = ".toml"
# Quantifiers range over "the same account's resources of a type, or agency.security".
_ACCOUNT_TYPES: frozenset[str] = ACCOUNT_RESOURCE_TYPES
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_LIST_OPS = frozenset({"in", "not_in", "contains_none"})


# -- where packs come from -----------------------------------------------------------


def _builtin_root() -> Traversable:
    """``hipaactl/_packs`` in an installed wheel; ``<repo>/policies`` in a source or
    editable checkout, where the wheel's force-include has not happened."""
    packaged = resources.files("hipaactl") / "_packs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "policies"


def _builtin_files() -> dict[str, Traversable]:
    root = _builtin_root()
    if not root.is_dir():
        return {}
    return {
        entry.name[: -len(_PACK_SUFFIX)]: entry
        for entry in root.iterdir()
        if entry.name.endswith(_PACK_SUFFIX) and entry.is_file()
    }


def builtin_pack_ids() -> tuple[str, ...]:
    """The ids of the packs shipped with hipaactl, sorted."""
    return tuple(sorted(_builtin_files()))


def load_packs(
    refs: Sequence[str], *, base_dir: Path, config_file: Path | None = None
) -> tuple[Pack, ...]:
    """Load each ref, a built-in pack id or a pack file path relative to ``base_dir``.

    A ref that names nothing, or a pack file that cannot be read or is malformed, is a
    ``ConfigError`` (all of them at once, each located at ``policies[#i]`` of
    ``config_file``, or at ``--pack[#i]`` when there is no config file); a pack taking
    another's id or a rule id defined twice is a ``PolicyPackError``.
    """
    builtins = _builtin_files()
    found: list[tuple[int, Traversable, str]] = []
    issues = _repeated_refs(refs, base_dir, config_file)
    if issues:  # reading them would only add a cascade of rule-id clashes
        raise ConfigError(issues)
    for index, ref in enumerate(refs):
        if ref in builtins:
            found.append((index, builtins[ref], BUILTIN_PREFIX + ref))
            continue
        path = base_dir / ref
        if path.is_file():
            found.append((index, path, ref))
        else:
            issues.append(_unknown_ref_issue(ref, index, path, sorted(builtins), config_file))
    packs, unusable = _read_packs(found, config_file)
    issues = sorted([*issues, *unusable], key=lambda issue: _entry_position(issue.key))
    if issues:
        raise ConfigError(issues)
    _check_pack_ids(packs, frozenset(builtins))
    _check_unique_rule_ids(packs)
    return packs


def _entry_position(key: str) -> int:
    """The position in ``policies[#3]`` or ``--pack[#3]``."""
    return int(key.rsplit("[#", 1)[1].rstrip("]"))


def _read_packs(
    found: Sequence[tuple[int, Traversable, str]], config_file: Path | None
) -> tuple[tuple[Pack, ...], list[ConfigIssue]]:
    """Read and parse each ``(position, source, path as given)``: the packs read, and an
    issue for each one that could not be, located at its entry (``policies[#i]`` of
    ``config_file``, or ``--pack[#i]``), so every bad entry is reported, not the first."""
    packs: list[Pack] = []
    issues: list[ConfigIssue] = []
    for index, source, source_path in found:
        try:
            packs.append(_read_pack(source, source_path))
        except PolicyPackError as exc:
            file, where = _where(index, config_file)
            issues.append(ConfigIssue(file, where, _nested(exc.message)))
    return tuple(packs), issues


def pack_limit_issues(config: Config, packs: Sequence[Pack]) -> list[ConfigIssue]:
    """Config values a loaded pack bounds: ``[attestations] max_age_days`` may shorten
    the packs' ``attestation_max_age_days``, never lengthen it (SPEC section 7)."""
    age = config.attestations.max_age_days
    limit = min((p.attestation_max_age_days for p in packs), default=None)
    if age is None or limit is None or age <= limit:
        return []
    strictest = next(p for p in packs if p.attestation_max_age_days == limit)
    key = "attestations.max_age_days"
    return [
        ConfigIssue(
            file=shown_path(config.path),
            key=key,
            line=config.key_lines.get(key),
            message=f"{age} is longer than the {limit} days pack {strictest.id} allows; "
            "max_age_days may only shorten it",
        )
    ]


def _where(index: int, config_file: Path | None) -> tuple[str, str]:
    if config_file is None:
        return "--pack", f"--pack[#{index}]"
    return shown_path(config_file), f"policies[#{index}]"


def repeated_pack_refs(refs: Sequence[str], *, base_dir: Path) -> list[tuple[int, str]]:
    """(position, message) of each ref naming a pack listed before it (the same id, or
    two spellings of one file): one clear problem, not a cascade of rule-id clashes."""
    first: dict[str, int] = {}
    repeats = []
    for index, ref in enumerate(refs):
        path = base_dir / ref
        key = str(path.resolve()) if path.is_file() else ref
        if key in first:
            repeats.append(
                (index, f"pack {ref!r} is listed twice (also #{first[key]}); list it once")
            )
        else:
            first[key] = index
    return repeats


def _repeated_refs(
    refs: Sequence[str], base_dir: Path, config_file: Path | None
) -> list[ConfigIssue]:
    issues = []
    for index, message in repeated_pack_refs(refs, base_dir=base_dir):
        file, where = _where(index, config_file)
        issues.append(ConfigIssue(file=file, key=where, message=message))
    return issues


def _check_pack_ids(packs: Sequence[Pack], builtin_ids: frozenset[str]) -> None:
    """A custom pack may not take a built-in pack's id, nor two packs one id: reports,
    plans and overrides name packs by id, and an auditor must be able to tell them
    apart. Every clash is reported at once."""
    problems: list[str] = []
    clashing: list[str] = []
    for pack in packs:
        if not pack.source_path.startswith(BUILTIN_PREFIX) and pack.id in builtin_ids:
            clashing.append(pack.id)
            problems.append(
                f"{pack.source_path}: [pack] id {pack.id!r} is the id of a built-in pack"
            )
    seen: dict[str, str] = {}
    for pack in packs:
        if pack.id in seen:
            clashing.append(pack.id)
            problems.append(
                f"two loaded packs have the id {pack.id!r}: {seen[pack.id]} and {pack.source_path}"
            )
        seen[pack.id] = pack.source_path
    if problems:
        raise PolicyPackError(
            "\n  ".join(problems),
            hint="give each custom pack an id of its own (for example "
            f"'{clashing[0]}-local') and, if it replaces a built-in one, list only it",
        )


def unknown_pack_refs(refs: Sequence[str], *, base_dir: Path) -> list[tuple[int, str]]:
    """(position, message) of each ref that names neither a built-in pack nor a file,
    so the config loader can report them with every other problem of the file."""
    builtins = _builtin_files()
    return [
        (index, _unknown_ref_message(ref, base_dir / ref, sorted(builtins)))
        for index, ref in enumerate(refs)
        if ref not in builtins and not (base_dir / ref).is_file()
    ]


def unusable_pack_refs(refs: Sequence[str], *, base_dir: Path) -> list[tuple[int, str]]:
    """(position, message) of each ref naming a pack file that cannot be read or is
    malformed, so the config loader reports them with every other problem of the file
    (``validate`` shows unknown ids and broken pack files in one run)."""
    builtins = _builtin_files()
    problems = []
    for index, ref in enumerate(refs):
        path = base_dir / ref
        if ref in builtins or not path.is_file():
            continue  # a built-in, or unknown_pack_refs reports it
        try:
            _read_pack(path, ref)
        except PolicyPackError as exc:
            problems.append((index, _nested(exc.message)))
    return problems


def _nested(message: str) -> str:
    """A pack's own list of problems, indented one level under the entry naming it."""
    return message.replace("\n", "\n  ")


def pack_digest_inputs(packs: Sequence[Pack]) -> tuple[tuple[str, str], ...]:
    """``(path as given, sha256)`` of every custom pack file, in load order: what a plan's
    ``config_sha256`` covers besides the config file. Built-in packs are versioned with
    hipaactl itself."""
    return tuple(
        (p.source_path, p.sha256) for p in packs if not p.source_path.startswith(BUILTIN_PREFIX)
    )


def pack_file_bytes(pack: Pack, *, base_dir: Path) -> bytes:
    """The bytes of the file ``pack`` was loaded from (a custom pack's path is relative to
    ``base_dir``, as when loaded), for an evidence bundle (SPEC section 13).

    Raises PolicyPackError when the file cannot be read, or no longer has the SHA-256 it
    had when loaded: a bundle must hold the pack that was evaluated, not a later edit.
    """
    if pack.source_path.startswith(BUILTIN_PREFIX):
        source: Traversable = _builtin_files()[pack.source_path[len(BUILTIN_PREFIX) :]]
    else:
        source = base_dir / pack.source_path
    origin = _origin(source, pack.source_path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        reason = os_error_reason(exc)
        raise PolicyPackError(f"{origin}: cannot read the pack file again: {reason}") from None
    except KeyError:  # a Traversable inside a zip archive: the member is gone
        raise PolicyPackError(f"{origin}: cannot read the pack file again: it is gone") from None
    if sha256_hex(data) != pack.sha256:
        raise PolicyPackError(f"{origin}: the pack file changed while hipaactl was running")
    return data


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(_PACK_SUFFIX) or "/" in ref or "\\" in ref


def _unknown_ref_message(ref: str, path: Path, builtin_ids: list[str]) -> str:
    known = ", ".join(builtin_ids) or "none found"
    if path.is_dir():
        message = f"policy pack path {shown_path(path)} is a directory; name the pack's .toml file"
    elif _looks_like_path(ref):
        message = f"policy pack file not found: {shown_path(path)}"
    else:
        message = f"unknown policy pack {ref!r}"
        close = difflib.get_close_matches(ref, builtin_ids, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return message + f" (built-in packs: {known}; a pack file path ends in {_PACK_SUFFIX})"


def _unknown_ref_issue(
    ref: str, index: int, path: Path, builtin_ids: list[str], config_file: Path | None
) -> ConfigIssue:
    message = _unknown_ref_message(ref, path, builtin_ids)
    if config_file is None:
        return ConfigIssue(file="--pack", key=f"--pack[#{index}]", message=message)
    return ConfigIssue(file=shown_path(config_file), key=f"policies[#{index}]", message=message)


def _check_unique_rule_ids(packs: Sequence[Pack]) -> None:
    owner: dict[str, Pack] = {}
    clashes: list[str] = []
    for pack in packs:
        for rule in pack.rules:
            first = owner.setdefault(rule.id, pack)
            if first is not pack:
                clashes.append(
                    f"rule {rule.id} is defined by both {first.source_path} and {pack.source_path}"
                )
    if clashes:
        raise PolicyPackError(
            "rule ids must be unique across loaded packs:\n  " + "\n  ".join(clashes),
            hint="list each pack once, and give a custom pack's rules their own id prefix",
        )


# -- reading one pack ----------------------------------------------------------------


def _read_pack(source: Traversable, source_path: str) -> Pack:
    origin = _origin(source, source_path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        reason = os_error_reason(exc)
        raise PolicyPackError(f"{origin}: cannot read the pack file: {reason}") from None
    return parse_pack_bytes(data, origin=origin, source_path=source_path)


def _origin(source: Traversable, source_path: str) -> str:
    if source_path.startswith(BUILTIN_PREFIX):
        return f"built-in pack {source_path[len(BUILTIN_PREFIX) :]} ({source.name})"
    return shown_path(Path(str(source)))


def parse_pack_bytes(data: bytes, *, origin: str, source_path: str) -> Pack:
    """Turn a pack file's bytes into a ``Pack``; every problem is reported at once."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyPackError(
            f"{origin}: not valid UTF-8 (byte {exc.start}); save the pack as UTF-8"
        ) from None
    try:
        document = parse_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyPackError(f"{origin}: TOML syntax error: {exc}") from None
    except DocumentError as exc:
        raise PolicyPackError(f"{origin}: {exc}") from None
    try:
        model = parse_pack(document)
    except ValidationError as exc:
        problems = [*_schema_problems(exc, document), *_grammar_problems(_valid_rules(document))]
        raise _pack_error(origin, problems) from None
    problems = list(_grammar_problems(list(enumerate(model.rule))))
    if problems:
        raise _pack_error(origin, problems)
    return _to_pack(model, sha256=sha256_hex(data), source_path=source_path)


def _valid_rules(document: Mapping[str, Any]) -> list[tuple[int, RuleModel]]:
    """The rules that pass the schema when another part does not, so that their grammar
    problems are reported in the same run."""
    raw = document.get("rule")
    valid: list[tuple[int, RuleModel]] = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            valid.append((index, RuleModel.model_validate(item)))
        except ValidationError:
            continue  # already reported by the schema problems
    return valid


def _pack_error(origin: str, problems: list[str]) -> PolicyPackError:
    count = len(problems)
    heading = f"invalid policy pack {origin}: {count} problem{'s' if count != 1 else ''}"
    return PolicyPackError(
        "\n  ".join([heading, *problems]),
        hint="fix the pack file; see hipaactl policies list for the built-in packs",
    )


def _key_path(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


_KNOWN_KEYS = sorted(
    {
        *PackFile.model_fields,
        *PackHeader.model_fields,
        *RuleModel.model_fields,
        *ConditionModel.model_fields,
        *RefModel.model_fields,
    }
)


def _schema_problems(exc: ValidationError, document: Mapping[str, Any]) -> Iterator[str]:
    for error in exc.errors(include_url=False):
        loc = [p for p in error["loc"] if isinstance(p, (int, str))]
        key = _key_path(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            name = str(loc[-1]) if loc else ""
            message = f"unknown key {name!r}"
            close = difflib.get_close_matches(name, _KNOWN_KEYS, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not allowed: {message.removeprefix('Input ')}"
        yield f"{_rule_label(loc, document)}{key}: {message}"


def _rule_label(loc: Sequence[int | str], document: Mapping[str, Any]) -> str:
    """Name the rule by id as well as by position, when the id is there to name."""
    if len(loc) < 2 or loc[0] != "rule" or not isinstance(loc[1], int):
        return ""
    rules = document.get("rule")
    if not isinstance(rules, list) or loc[1] >= len(rules) or not isinstance(rules[loc[1]], dict):
        return ""
    rule_id = rules[loc[1]].get("id")
    return f"{rule_id}: " if isinstance(rule_id, str) else ""


# -- the rule grammar ----------------------------------------------------------------


def _grammar_problems(rules: Sequence[tuple[int, RuleModel]]) -> Iterator[str]:
    seen: set[str] = set()
    for index, rule in rules:
        where = f"{rule.id}: rule[{index}]"
        if rule.id in seen:
            yield f"{where}.id: rule id {rule.id} appears twice in this pack"
        seen.add(rule.id)
        for position, condition in enumerate(rule.when):
            yield from _condition_problems(rule, condition, f"{where}.when[{position}]")
        if condition_quantifier(rule.check) is not None:
            yield f"{where}.check: a check cannot use any/all; put quantified conditions in when"
        yield from _condition_problems(rule, rule.check, f"{where}.check")


def condition_quantifier(condition: ConditionModel) -> tuple[str, str] | None:
    """``("any"|"all", collection)`` of a condition over a collection, or None."""
    if condition.any is not None:
        return ("any", condition.any)
    if condition.all is not None:
        return ("all", condition.all)
    return None


def _condition_problems(rule: RuleModel, condition: ConditionModel, where: str) -> Iterator[str]:
    target: str = rule.resource
    if condition.any is not None and condition.all is not None:
        yield f"{where}: use either any or all, not both"
    quantified = condition_quantifier(condition)
    if quantified is not None:
        word, over = quantified
        target = over
        if over != "agency.security" and not (
            over in _ACCOUNT_TYPES and rule.resource in _ACCOUNT_TYPES
        ):
            yield (
                f"{where}.{word}: {over!r} cannot be quantified over from a {rule.resource!r} "
                "rule; use agency.security or a resource type of the same account"
            )
    yield from _field_problems(condition.field, target, where)
    yield from _value_problems(condition, where)


def _field_problems(field: str, resource_type: str, where: str) -> Iterator[str]:
    fields = sorted(RESOURCE_FIELDS[resource_type])
    if field in fields:
        return
    message = f"{where}.field: {resource_type} has no field {field!r}"
    close = difflib.get_close_matches(field, fields, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    yield f"{message} (fields: {', '.join(fields)})"


def _value_problems(condition: ConditionModel, where: str) -> Iterator[str]:
    op, value = condition.op, condition.value
    key = f"{where}.value"
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if op in _ORDER_OPS and not is_number:
        yield f"{key}: {op} needs a number"
    elif op in _LIST_OPS and not isinstance(value, (list, RefModel)):
        yield f"{key}: {op} needs a list or {{ ref = ... }}"
    elif op in ("==", "!=") and isinstance(value, RefModel):
        yield f"{key}: {op} compares with a literal; use in / not_in with a ref"
    elif op == "matches":
        if not isinstance(value, str):
            yield f"{key}: matches needs a regular expression string"
        else:
            try:
                compile_pattern(value)
            except PatternError as exc:
                yield f"{key}: not a valid regular expression: {exc}"


# -- models to values ----------------------------------------------------------------


def _to_condition(model: ConditionModel) -> Condition:
    value: Any = model.value
    if isinstance(value, RefModel):
        value = Ref(value.ref)
    elif isinstance(value, list):
        value = tuple(value)
    quantified = condition_quantifier(model)
    return Condition(
        field=model.field,
        op=model.op,
        value=value,
        quantifier=None if quantified is None else ("any" if quantified[0] == "any" else "all"),
        over=None if quantified is None else quantified[1],
    )


def _to_rule(model: RuleModel, pack_id: str) -> Rule:
    return Rule(
        id=model.id,
        pack_id=pack_id,
        title=model.title,
        hipaa=tuple(model.hipaa),
        hipaa_type=model.hipaa_type,
        source=model.source,
        severity=model.severity,
        enforcement=model.enforcement,
        resource=model.resource,
        when=tuple(_to_condition(c) for c in model.when),
        check=_to_condition(model.check),
        remediation=model.remediation,
    )


def _to_pack(model: PackFile, *, sha256: str, source_path: str) -> Pack:
    header = model.pack
    return Pack(
        id=header.id,
        version=header.version,
        title=header.title,
        sha256=sha256,
        eligible_plans=tuple(header.eligible_plans),
        phi_fields=tuple(header.phi_fields),
        login_protected_fields=tuple(header.login_protected_fields),
        shared_mailbox_local_parts=tuple(header.shared_mailbox_local_parts),
        attestation_max_age_days=header.attestation_max_age_days,
        rules=tuple(_to_rule(r, header.id) for r in model.rule),
        source_path=source_path,
    )
