"""Reference documents generated from the code: the configuration reference from the
config file's JSON Schema (docs/configuration.md) and the policy reference from the packs
(docs/policies.md).

Pure: a schema or packs in, Markdown out. Structure, types, ranges, defaults and allowed
values come from the schema; ``KEY_NOTES`` adds a sentence for keys whose model field
has no description, keyed by key path so a test can tell when one names no key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hipaactl.config.schema import (
    EMAIL_PATTERN,
    ENDPOINT_PATH_PATTERN,
    NON_BLANK_PATTERN,
    PROVIDER_KIND_PATTERN,
    URL_PATTERN,
)
from hipaactl.policy.model import Condition, Pack, Ref, Rule, cited
from hipaactl.policy.views import FIELD_DOCS

REGENERATE = "HIPAACTL_REGENERATE_DOCS=1 pytest tests/docs/test_generated_docs.py"

PATTERN_NAMES: Mapping[str, str] = {
    EMAIL_PATTERN: "email address",
    NON_BLANK_PATTERN: "non-empty string",
    ENDPOINT_PATH_PATTERN: "path starting with `/`",
    PROVIDER_KIND_PATTERN: "provider name",
    URL_PATTERN: "http(s) URL",
}

# One sentence per key the models do not describe, by key path ("[]" marks the
# entries of an array of tables, "*" the keys of a map).
KEY_NOTES: Mapping[str, str] = {
    "version": "The file format; only 1 exists.",
    "policies": "Packs to enforce: built-in ids (`ctm-hipaa-current`, `ctm-hipaa-2018`) "
    "or pack files, relative to this file.",
    "provider.kind": '`"sandbox"` (the embedded simulator), `"ctm"` (the CTM REST API) or '
    "an installed provider.",
    "provider.seed": "Sandbox only: the agency JSON the sandbox starts from, relative to "
    "this file; a default agency ships in the package.",
    "provider.base_url": "ctm only; default `https://api.calltrackingmetrics.com/api/v1`.",
    "provider.rate_limit": "Requests per second, shared by all workers.",
    "provider.parallelism": "Accounts read and applied at once.",
    "provider.allow_inferred_writes": "ctm only: let `apply` write to the inferred "
    "endpoints (agency_security, account_settings, notifications); run `hipaactl doctor` "
    "first.",
    "agency.security.idle_timeout_minutes": "Log idle users out after this many minutes.",
    "agency.security.two_factor": "How often two-factor authentication asks for a code.",
    "agency.security.require_login_for_recordings": "A recording link needs a login; "
    "also decides whether `recording_url` counts as a PHI field.",
    "agency.security.allow_account_override": "Whether accounts may weaken these settings; "
    "turning it on is unsafe.",
    "agency.security.allow_email_mfa": "Whether email is accepted as a second factor; "
    "turning it on is unsafe.",
    "agency.security.recording_link_expiry_days": "Days after which recording links stop "
    "working (1..30); a longer value is unsafe.",
    "defaults.recordings.enabled": "Inbound and outbound recording in every call-settings profile.",
    "defaults.recordings.encrypted": "Encrypted call recordings.",
    "defaults.recordings.encrypted_storage": "Encrypted recording storage.",
    "defaults.transcription": '`"off"` turns transcription off in every profile; any other '
    "value turns it on and sets the account's transcription mode.",
    "defaults.redaction": "How long personal information is kept on calls, texts and forms.",
    "defaults.caller_id.enabled": "Caller ID in every call-settings profile.",
    "defaults.caller_id.enhanced": "Enhanced (premium) caller ID in every profile.",
    "defaults.notifications.phi_fields": '`"strip"` removes PHI fields from notifications '
    '(triggers are read only: one that sends PHI is a manual action); `"keep"` leaves '
    "them unmanaged.",
    "defaults.notifications.extra_phi_fields": "Field names to treat as PHI besides the "
    "pack's list.",
    "defaults.users.mode": '`"exact"` is allowed only on an `[[account]]` that declares users.',
    "accounts.include": "Account ids (integers) and name globs (strings) to manage.",
    "accounts.exclude[].id": "An account id; give either `id` or `name`.",
    "accounts.exclude[].name": "A glob over account names; give either `id` or `name`.",
    "accounts.exclude[].reason": "Why this account is left alone (reported by `check`).",
    "account[].id": "The CTM account id; the account is always managed.",
    "account[].user[].email": "The login; unique per account, ignoring case.",
    "account[].user[].role": "The user's CTM role.",
    "account[].user[].first_name": "Managed only when declared; needed to create the user.",
    "account[].user[].last_name": "Managed only when declared; needed to create the user.",
    "attestations.baa.counterparty": "Who signed the BAA with you.",
    "attestations.baa.effective_on": "When the BAA took effect.",
    "attestations.baa.confirmed_on": "When a person last confirmed it; not in the future; "
    "expires after `max_age_days`.",
    "attestations.baa.by": "Who confirmed it.",
    "attestations.baa.document": "Where an auditor finds the signed copy.",
    "attestations.individual_logins.confirmed_on": "When a person last confirmed that "
    "everyone has their own login.",
    "attestations.individual_logins.by": "Who confirmed it.",
    "attestations.max_age_days": "Shorten the packs' attestation lifetime (default 365).",
    "integrations.allow[].name": "An integration name as CTM shows it.",
    "integrations.allow[].baa": "Whether its vendor signed a BAA; `false` is an advisory failure.",
    "policy.overrides.*.enforcement": "Only `advisory`: the rule warns instead of failing.",
    "policy.overrides.*.reason": "Why the exception is acceptable.",
    "policy.overrides.*.approved_by": "Who approved it.",
    "policy.overrides.*.expires_on": "After this date the override is ignored, with a warning.",
    "audit.path": "The change log apply writes, relative to this file; default "
    "`.hipaactl/audit.jsonl`.",
}

TableKind = Literal["table", "array of tables", "map of tables"]


@dataclass(frozen=True)
class KeyDoc:
    name: str
    type: str
    required: bool
    default: str
    notes: str


@dataclass(frozen=True)
class TableDoc:
    path: str  # key path, "[]" after an array of tables, "*" for a map's keys
    kind: TableKind
    description: str
    keys: tuple[KeyDoc, ...]


# -- the configuration reference ------------------------------------------------------


class _SchemaReader:
    """Walks the schema from the root, one ``TableDoc`` per table. A model used in two
    places (``[defaults]`` and ``[[account]]`` share theirs) is documented once, where
    it first appears, and linked from the other."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.defs: Mapping[str, Any] = schema.get("$defs", {})
        self.tables: list[TableDoc] = []
        self.paths: set[str] = set()
        self.documented: dict[str, str] = {}  # model name -> the path documenting it

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str):
            resolved: Mapping[str, Any] = self.defs[_def_name(ref)]
            return resolved
        return node

    def table(self, node: Mapping[str, Any], path: str, kind: TableKind) -> None:
        node = self.resolve(node)
        required = set(node.get("required", ()))
        keys = []
        children: list[tuple[Mapping[str, Any], str, TableKind]] = []
        for name, prop in node.get("properties", {}).items():
            key_path = f"{path}.{name}" if path else name
            self.paths.add(key_path)
            child = self.child_table(prop, key_path)
            if child is not None and child[1] == self.section_path(child[0], child[1]):
                children.append(child)
            keys.append(self.key(name, prop, key_path, name in required, child))
        description = str(node.get("description", ""))
        self.tables.append(TableDoc(path, kind, description, tuple(keys)))
        for child_node, child_path, child_kind in children:
            self.table(child_node, child_path, child_kind)

    def child_table(
        self, prop: Mapping[str, Any], path: str
    ) -> tuple[Mapping[str, Any], str, TableKind] | None:
        """The table a key holds, if any: (its schema node, its path, its kind)."""
        node = self.resolve(prop)
        if "properties" in node:
            return prop, path, "table"
        items = node.get("items", {})
        if "properties" in self.resolve(items):
            return items, f"{path}[]", "array of tables"
        values = node.get("additionalProperties")
        if isinstance(values, Mapping) and "properties" in self.resolve(values):
            return values, f"{path}.*", "map of tables"
        return None

    def section_path(self, node: Mapping[str, Any], path: str) -> str:
        """Where the table at ``path`` is documented: here, or where its model was."""
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return path
        return self.documented.setdefault(_def_name(ref), path)

    def key(
        self,
        name: str,
        prop: Mapping[str, Any],
        path: str,
        required: bool,
        child: tuple[Mapping[str, Any], str, TableKind] | None,
    ) -> KeyDoc:
        node = self.resolve(prop)
        if child is not None:
            target = self.section_path(child[0], child[1])
            notes = f"See [`{_display(target)}`](#{_anchor(target)})."
        else:
            notes = str(node.get("description") or prop.get("description") or _note(path))
        default = json.dumps(node["default"]) if "default" in node else ""
        return KeyDoc(name, self.type_of(node), required, default, notes)

    def type_of(self, node: Mapping[str, Any]) -> str:
        node = self.resolve(node)
        if "properties" in node:
            return "table"
        if "const" in node:
            return f"`{json.dumps(node['const'])}`"
        if "enum" in node:
            return " | ".join(f"`{json.dumps(v)}`" for v in node["enum"])
        if "anyOf" in node:
            return " or ".join(self.type_of(branch) for branch in node["anyOf"])
        kind = node.get("type")
        if kind == "array":
            items = self.type_of(node.get("items", {}))
            text = "array of tables" if items == "table" else f"array of {items}"
            return text + (" (not empty)" if node.get("minItems") else "")
        if kind == "object":
            return "tables, one per rule id"
        return _scalar(node)


def _def_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _note(path: str) -> str:
    """The note of a key; an ``[[account]]`` key overriding a default shares its note."""
    if path in KEY_NOTES:
        return KEY_NOTES[path]
    if path.startswith("account[]."):
        return KEY_NOTES.get("defaults." + path.removeprefix("account[]."), "")
    return ""


def _scalar(node: Mapping[str, Any]) -> str:
    kind = str(node.get("type", "value"))
    if node.get("format") == "date":
        return "date (`2026-01-15`, no quotes)"
    if "pattern" in node:
        return PATTERN_NAMES.get(str(node["pattern"]), kind)
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f"{kind}, {low}..{high}"
    if low is not None:
        return f"{kind}, at least {low}"
    if "exclusiveMinimum" in node:
        return f"{kind}, more than {node['exclusiveMinimum']}"
    return kind


def _display(path: str) -> str:
    """A table path as TOML shows it: ``[provider]``, ``[[account]]``, ``[[account.user]]``."""
    if not path:
        return "Top level"
    if path.endswith("[]"):
        return f"[[{path[:-2].replace('[]', '')}]]"
    return f"[{path.replace('[]', '').replace('.*', '.RULE_ID')}]"


def _anchor(path: str) -> str:
    text = _display(path).lower()
    return "".join(c for c in text if c.isalnum() or c in "-_ ").replace(" ", "-")


def _read(schema: Mapping[str, Any]) -> _SchemaReader:
    reader = _SchemaReader(schema)
    reader.table(schema, "", "table")
    return reader


def schema_tables(schema: Mapping[str, Any]) -> tuple[TableDoc, ...]:
    """The config schema's tables, each with its keys, for the reference docs."""
    return tuple(_read(schema).tables)


def schema_key_paths(schema: Mapping[str, Any]) -> frozenset[str]:
    """Every key path documented, as ``KEY_NOTES`` spells them."""
    return frozenset(_read(schema).paths)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table_section(table: TableDoc) -> list[str]:
    lines = [f"## {_display(table.path)}", ""]
    if table.kind != "table":
        lines.extend([f"*{table.kind.capitalize()}.*", ""])
    if table.description:
        lines.extend([table.description, ""])
    lines.extend(["| key | type | required | default | notes |", "|---|---|---|---|---|"])
    lines.extend(
        f"| `{k.name}` | {_cell(k.type)} | {'yes' if k.required else ''} | "
        f"{f'`{k.default}`' if k.default else ''} | {_cell(k.notes)} |"
        for k in table.keys
    )
    return [*lines, ""]


CONFIG_INTRO = """\
`hipaa.toml` declares the desired state. A key you leave out is not managed: hipaactl
never changes it, and `check` still audits it. Run `hipaactl schema` for the JSON Schema
this page is generated from, and `hipaactl validate` to check a file offline.

Rules the schema alone does not express (checked by `validate`, `plan` and every other
command that reads the file):

- Types are strict: `"15"` and `true` are not integers. Unknown keys are errors with a
  "did you mean" suggestion. Every error names the file and the key path, such as
  `account[#0].recordings.encrypted` (the position in the file); TOML syntax errors
  also give the line and column.
- No key anywhere may be named like a credential (`key`, `secret`, `token`, `password`,
  alone or as a part such as `api_key`): CTM credentials come only from
  `CTM_ACCESS_KEY` / `CTM_SECRET_KEY` (or `CTM_ACCESS_KEY_FILE` / `CTM_SECRET_KEY_FILE`).
- Account ids, and user emails within an account (ignoring case), are unique.
- `users.mode = "exact"` belongs on an `[[account]]` that declares users, never in
  `[defaults]`.
- An `[[account]]` that is excluded, or missing from live state, is an error. Without an
  `[accounts]` table only the `[[account]]` entries are managed.
- `[[account]]` keys override `[defaults]` key by key (`recordings.encrypted` alone keeps
  the default `recordings.enabled`).
- `confirmed_on` dates may not be in the future; the sandbox `seed` file must exist.
"""


def render_configuration_reference(schema: Mapping[str, Any]) -> str:
    """docs/configuration.md: one section per table of the config file."""
    lines = [
        "# Configuration reference (hipaa.toml)",
        "",
        "<!-- Generated from the config file's JSON Schema; do not edit. Regenerate with:",
        f"     {REGENERATE} -->",
        "",
        CONFIG_INTRO,
    ]
    for table in schema_tables(schema):
        lines.extend(_table_section(table))
    return "\n".join(lines).rstrip("\n") + "\n"


# -- the policy reference -------------------------------------------------------------


REF_TEXT: Mapping[str, str] = {
    "phi_fields": "the PHI fields (the pack's, `extra_phi_fields`, and `recording_url` "
    "unless login is required to hear recordings)",
    "eligible_plans": "the pack's eligible plans",
    "allowed_integrations": "the `[integrations] allow` list with `baa = true`",
    "shared_mailbox_local_parts": "the pack's shared-mailbox local parts",
    "allowed_receivers": "the `host` of each `[integrations] allow` entry with `baa = true`",
}


def render_value(value: Any) -> str:
    """A rule value as Markdown: a ref as its description, anything else as inline JSON."""
    if isinstance(value, Ref):
        return REF_TEXT[value.name]
    return f"`{json.dumps(value)}`"


def render_condition(condition: Condition) -> str:
    """A condition as Markdown: ``field op value``, after ``any|all `collection`:``
    when it is over a collection.
    """
    text = f"`{condition.field}` {condition.op} {render_value(condition.value)}"
    if condition.quantifier is not None:
        return f"{condition.quantifier} `{condition.over}`: {text}"
    return text


def _rule_section(rule: Rule) -> list[str]:
    when = "; ".join(render_condition(c) for c in rule.when) or "always"
    rows = [
        ("enforcement", rule.enforcement),
        ("severity", rule.severity),
        ("HIPAA (45 CFR)", cited(rule).replace("45 CFR ", "")),
        ("resource", f"`{rule.resource}`"),
        ("applies when", when),
        ("check", render_condition(rule.check)),
        ("checklist", f"“{rule.source}”"),
        ("remediation", rule.remediation),
    ]
    lines = [f"### {rule.id}: {_cell(rule.title)}", "", "| | |", "|---|---|"]
    lines.extend(f"| {name} | {_cell(value)} |" for name, value in rows)
    return [*lines, ""]


def _pack_section(pack: Pack) -> list[str]:
    mandatory = sum(r.enforcement == "mandatory" for r in pack.rules)
    lines = [
        f"## {pack.id} {pack.version}",
        "",
        f"{pack.title}. {len(pack.rules)} rules, {mandatory} mandatory.",
        "",
        f"- Eligible plans: {', '.join(f'`{p}`' for p in pack.eligible_plans)}.",
        f"- PHI fields: {', '.join(f'`{f}`' for f in pack.phi_fields)}; also "
        f"{', '.join(f'`{f}`' for f in pack.login_protected_fields)} unless "
        "`require_login_for_recordings` is true.",
        "- Shared-mailbox local parts: "
        f"{', '.join(f'`{p}`' for p in pack.shared_mailbox_local_parts)}.",
        f"- Attestations expire after {pack.attestation_max_age_days} days.",
        "",
    ]
    for rule in pack.rules:
        lines.extend(_rule_section(rule))
    return lines


POLICY_INTRO = """\
Each rule checks one setting of one kind of resource, quotes the checklist bullet it
comes from, cites 45 CFR, and says how to fix a failure. **mandatory** rules fail
`validate` and `plan` (on the declared desired state) and `check` (on live state) with
exit code 3; **advisory** ones are warnings. A rule is evaluated once per resource of its
type; when its conditions do not hold, the result is `not_applicable` (its own status,
never a pass). "required" and "addressable" follow only Security Rule citations
(164.308-164.316). See
[traceability.md](traceability.md) for every checklist bullet and its rules, and
`hipaactl policies show RULE_ID` for one rule.
"""


def render_policy_reference(packs: Sequence[Pack]) -> str:
    """docs/policies.md: every rule of every pack, in the order given."""
    lines = [
        "# Policy reference",
        "",
        "<!-- Generated from the policy packs; do not edit. Regenerate with:",
        f"     {REGENERATE} -->",
        "",
        POLICY_INTRO,
    ]
    for pack in packs:
        lines.extend(_pack_section(pack))
    lines.extend(_fields_section())
    return "\n".join(lines).rstrip("\n") + "\n"


def _fields_section() -> list[str]:
    """Every field a rule can check, per resource type; derived ones say how."""
    lines = [
        "## Fields rules can check",
        "",
        "A field that could not be read is unknown: a rule over it is `error`, never a pass.",
        "",
    ]
    for resource_type, fields in FIELD_DOCS.items():
        lines.extend([f"### `{resource_type}`", "", "| field | meaning |", "|---|---|"])
        lines.extend(f"| `{name}` | {_cell(text)} |" for name, text in sorted(fields.items()))
        lines.append("")
    return lines
