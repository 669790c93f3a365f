from __future__ import annotations

import sys

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.config.keys import (
    find_secret_keys,
    format_key_path,
    line_of,
    parent_key_paths,
    scan_key_lines,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("account", 0, "recordings", "encrypted"), "account[#0].recordings.encrypted"),
        (("account", 1, "user", 2, "email"), "account[#1].user[#2].email"),
        (("policies",), "policies"),
        (("policy", "overrides", "CTM-RED-01"), "policy.overrides.CTM-RED-01"),
        (("policy", "overrides", "a.b c"), 'policy.overrides."a.b c"'),
        ((), ""),
    ],
)
def test_format_key_path(parts: tuple[str | int, ...], expected: str) -> None:
    assert format_key_path(parts) == expected


def test_parent_key_paths_walk_up_to_the_top() -> None:
    assert list(parent_key_paths("account[#0].user[#1].email")) == [
        "account[#0].user[#1]",
        "account[#0].user",
        "account[#0]",
        "account",
    ]


def test_line_of_falls_back_to_the_nearest_declared_parent() -> None:
    key_lines = {"account[#0]": 7, "account[#0].id": 8}
    assert line_of("account[#0].id", key_lines) == 8
    assert line_of("account[#0].users.mode", key_lines) == 7
    assert line_of("version", key_lines) is None


def test_find_secret_keys_at_any_depth_without_descending_into_them() -> None:
    document = {
        "token": {"nested_password": "x"},
        "provider": {"kind": "ctm", "access_key": "x"},
        "account": [{"id": 1, "user": [{"email": "a", "api_keys": ["x"]}]}],
        "idle_timeout_minutes": 15,
    }
    assert list(find_secret_keys(document)) == [
        ("token",),
        ("provider", "access_key"),
        ("account", 0, "user", 0, "api_keys"),
    ]


SAMPLE = '''version = 1
policies = [
  "a",  # a comment with "quotes" and [brackets]
  "b",
]
note = """
multi = "line" {
"""
literal = 'C:\\dir\\'
[provider.endpoints]
users = "/u"
[agency.security]
idle_timeout_minutes = 15
[accounts]
exclude = [{ id = 1, reason = "a, [b] {c}" }, { name = 'x*', reason = "y" }]
[[account]]
id = 1
recordings.encrypted = false
[account.caller_id]
enabled = true
[[account.user]]
email = "a@b.example"
[[account]]
id = 2
[[account.user]]
"first name" = "x"
[policy.overrides]
"CTM-RED-01" = { enforcement = "advisory", expires_on = 2026-12-31 }
"odd.key" = { when = 1979-05-27 07:32:00 }
'''


def test_scan_key_lines_finds_every_declared_key() -> None:
    tomllib.loads(SAMPLE)  # the scanner assumes valid TOML
    lines = scan_key_lines(SAMPLE)
    assert lines == {
        "version": 1,
        "policies": 2,
        "policies[#0]": 3,
        "policies[#1]": 4,
        "note": 6,
        "literal": 9,
        "provider": 10,
        "provider.endpoints": 10,
        "provider.endpoints.users": 11,
        "agency": 12,
        "agency.security": 12,
        "agency.security.idle_timeout_minutes": 13,
        "accounts": 14,
        "accounts.exclude": 15,
        "accounts.exclude[#0]": 15,
        "accounts.exclude[#0].id": 15,
        "accounts.exclude[#0].reason": 15,
        "accounts.exclude[#1]": 15,
        "accounts.exclude[#1].name": 15,
        "accounts.exclude[#1].reason": 15,
        "account": 16,
        "account[#0]": 16,
        "account[#0].id": 17,
        "account[#0].recordings": 18,
        "account[#0].recordings.encrypted": 18,
        "account[#0].caller_id": 19,
        "account[#0].caller_id.enabled": 20,
        "account[#0].user": 21,
        "account[#0].user[#0]": 21,
        "account[#0].user[#0].email": 22,
        "account[#1]": 23,
        "account[#1].id": 24,
        "account[#1].user": 25,
        "account[#1].user[#0]": 25,
        'account[#1].user[#0]."first name"': 26,
        "policy": 27,
        "policy.overrides": 27,
        "policy.overrides.CTM-RED-01": 28,
        "policy.overrides.CTM-RED-01.enforcement": 28,
        "policy.overrides.CTM-RED-01.expires_on": 28,
        'policy.overrides."odd.key"': 29,
        'policy.overrides."odd.key".when': 29,
    }


def test_scan_key_lines_of_an_empty_text() -> None:
    assert scan_key_lines("") == {}
    assert scan_key_lines("# only a comment\r\n") == {}


def all_key_paths(document: object, prefix: tuple[str | int, ...] = ()) -> set[str]:
    found: set[str] = set()
    items: list[tuple[str | int, object]] = []
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = list(enumerate(document))
    for name, value in items:
        path = (*prefix, name)
        found |= {format_key_path(path)} | all_key_paths(value, path)
    return found


KEYS = st.text(alphabet="abcXYZ_-. \"'é1", min_size=1, max_size=6)
SCALARS = st.one_of(
    st.integers(),
    st.booleans(),
    st.text(max_size=8),
    st.dates(),
    st.floats(allow_nan=False),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, max_size=3),
    ),
    max_leaves=12,
).filter(lambda d: isinstance(d, dict)) | st.dictionaries(
    KEYS, st.lists(st.dictionaries(KEYS, SCALARS, max_size=3), max_size=3), max_size=3
)


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(DOCUMENTS)
def test_scan_key_lines_finds_every_key_tomli_w_writes(document: dict[str, object]) -> None:
    text = tomli_w.dumps(document)
    assert tomllib.loads(text) == document
    lines = scan_key_lines(text)
    assert all_key_paths(document) <= set(lines)
    assert all(1 <= line <= text.count("\n") + 1 for line in lines.values())
