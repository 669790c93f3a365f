from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from hipaactl.config.keys import SECRET_KEY_PATTERN
from hipaactl.config.schema import (
    PATTERN_MESSAGES,
    ConfigFileModel,
    config_json_schema,
    describe,
    validate_document,
)
from hipaactl.providers.ctm.endpoints import ENDPOINTS_BY_NAME

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

SPEC_EXAMPLE = Path(__file__).parent / "valid" / "spec_example.toml"


def as_json(value: Any) -> Any:
    """A parsed TOML document as JSON would hold it: dates become ISO strings."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def all_models(model: type[BaseModel] = ConfigFileModel) -> set[type[BaseModel]]:
    from hipaactl.config.schema import _inner_model

    found = {model}
    for field in model.model_fields.values():
        inner = _inner_model(field.annotation)
        if inner is not None and inner not in found:
            found |= all_models(inner)
    return found


def problems(document: dict[str, Any]) -> dict[str, list[str]]:
    from hipaactl.config.keys import format_key_path

    model, found = validate_document(document)
    assert model is None
    result: dict[str, list[str]] = {}
    for problem in found:
        result.setdefault(format_key_path(problem.path), []).append(problem.message)
    return result


BASE: dict[str, Any] = {"version": 1, "policies": ["ctm-hipaa-current"]}


# -- JSON Schema ------------------------------------------------------------------------


def test_json_schema_is_valid_draft_2020_12() -> None:
    schema = config_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "hipaactl configuration (hipaa.toml)"


def test_json_schema_is_deterministic() -> None:
    first = json.dumps(config_json_schema(), sort_keys=False)
    assert json.dumps(config_json_schema(), sort_keys=False) == first


def test_json_schema_has_no_null_since_toml_has_none() -> None:
    text = json.dumps(config_json_schema())
    assert '"null"' not in text
    assert '"default": null' not in text


def test_json_schema_accepts_the_spec_example() -> None:
    document = as_json(tomllib.loads(SPEC_EXAMPLE.read_text(encoding="utf-8")))
    Draft202012Validator(config_json_schema()).validate(document)


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"policies": []},
        {"agency": {"security": {"idle_timeout_minutes": 0}}},
        {"agency": {"security": {"idle_timout_minutes": 15}}},
        {"provider": {"endpoints": {"agency_secrity": "/x"}}},
        {"defaults": {"transcription": "always"}},
    ],
)
def test_json_schema_refuses_what_the_models_refuse(change: dict[str, Any]) -> None:
    document = {**BASE, **change}
    assert not Draft202012Validator(config_json_schema()).is_valid(document)
    assert validate_document(document)[0] is None


def test_json_schema_lists_every_endpoint_name() -> None:
    endpoints = config_json_schema()["$defs"]["EndpointsModel"]
    assert sorted(endpoints["properties"]) == sorted(ENDPOINTS_BY_NAME)
    assert endpoints["additionalProperties"] is False


def test_every_model_forbids_unknown_keys_and_is_strict() -> None:
    for model in all_models():
        assert model.model_config.get("extra") == "forbid", model
        assert model.model_config.get("strict") is True, model


def test_no_config_key_looks_like_a_credential() -> None:
    # The loader drops credential-looking keys before validation; a real key with such a
    # name would then always be reported missing.
    names = {name for model in all_models() for name in model.model_fields}
    assert not [n for n in names if SECRET_KEY_PATTERN.search(n)]


# -- friendly errors --------------------------------------------------------------------


def test_type_errors_say_expected_and_got_in_toml_words() -> None:
    found = problems({**BASE, "agency": {"security": {"idle_timeout_minutes": "15"}}})
    assert found == {"agency.security.idle_timeout_minutes": ["expected an integer, got a string"]}


def test_a_union_failure_is_one_message() -> None:
    found = problems({**BASE, "accounts": {"include": [1.5]}})
    assert found == {"accounts.include[#0]": ["expected an integer or a string, got a float"]}


def test_unknown_key_in_a_keyed_table_suggests_the_right_field() -> None:
    override = {
        "enforcement": "advisory",
        "reasn": "x",
        "reason": "x",
        "approved_by": "a@b.example",
        "expires_on": dt.date(2026, 1, 1),
    }
    found = problems({**BASE, "policy": {"overrides": {"CTM-RED-01": override}}})
    assert found == {
        "policy.overrides.CTM-RED-01.reasn": ["unknown key 'reasn'; did you mean 'reason'?"]
    }


def test_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    found = problems({**BASE, "audit": {"where": "x"}})
    assert found == {"audit.where": ["unknown key 'where'; allowed keys: path"]}


def test_range_messages_name_both_bounds() -> None:
    found = problems({**BASE, "provider": {"parallelism": 65, "rate_limit": -1.0}})
    assert found == {
        "provider.parallelism": ["must be between 1 and 64, got 65"],
        "provider.rate_limit": ["must be at least 0.01, got -1.0"],
    }


def test_infinite_rate_limit_is_refused() -> None:
    found = problems({**BASE, "provider": {"rate_limit": float("inf")}})
    assert found == {"provider.rate_limit": ["must be a finite number"]}


def test_every_pattern_has_a_message() -> None:
    schema_text = json.dumps(config_json_schema())
    for pattern in PATTERN_MESSAGES:
        assert json.dumps(pattern) in schema_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "a boolean"),
        (1, "an integer"),
        (1.0, "a float"),
        ("x", "a string"),
        ([], "an array"),
        ({}, "a table"),
        (dt.datetime(2026, 1, 1, 9, 0), "a date-time"),
        (dt.date(2026, 1, 1), "a date"),
        (dt.time(9, 0), "a time"),
    ],
)
def test_describe_names_toml_types(value: Any, expected: str) -> None:
    assert describe(value) == expected
