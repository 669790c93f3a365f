"""The one gate for outside JSON and TOML refuses numbers JSON cannot hold (NaN, the
infinities, a literal that overflows to one), so nothing hipaactl writes from what it
read can be invalid JSON; and the writers refuse them too."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.canonical import DocumentError, canonical_json, parse_json, parse_toml
from hipaactl.providers.sandbox.backend import write_json_atomic
from hipaactl.report.render.json import render_json

NOT_FINITE_JSON = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "123456789e999"]


@pytest.mark.parametrize("literal", NOT_FINITE_JSON)
@pytest.mark.parametrize("template", ["{}", "[1, {}]", '{{"a": {{"b": [{}]}}}}'])
def test_parse_json_refuses_a_number_that_is_not_finite(literal: str, template: str) -> None:
    with pytest.raises(DocumentError, match="holds a number that is not finite") as caught:
        parse_json(template.format(literal).encode("utf-8"))
    assert literal in str(caught.value)


@pytest.mark.parametrize("literal", ["inf", "+inf", "-inf", "nan", "+nan", "-nan", "1e400"])
def test_parse_toml_refuses_a_number_that_is_not_finite(literal: str) -> None:
    with pytest.raises(DocumentError, match="holds a number that is not finite"):
        parse_toml(f"[pack]\nlimit = {literal}\n")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_whatever_json_parses_can_be_written_back_as_json(number: float) -> None:
    # Python's json writes NaN and infinities as bare words; read back they are either
    # refused, or a finite number whose canonical JSON is valid JSON again.
    text = json.dumps({"n": [number]})
    try:
        value = parse_json(text)
    except DocumentError:
        assert not math.isfinite(number)
        return
    assert math.isfinite(number)
    written = canonical_json(value)
    assert json.loads(written, parse_constant=pytest.fail) == {"n": [number]}


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_writers_refuse_numbers_json_cannot_hold(tmp_path: Path, number: float) -> None:
    document = {"agency": {"security": {"idle_timeout_minutes": number}}}
    with pytest.raises(ValueError):
        canonical_json(document)
    with pytest.raises(ValueError):
        render_json(document)
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "state.json", document)
    assert not (tmp_path / "state.json").exists()


def test_finite_floats_and_big_integers_still_parse() -> None:
    assert parse_json(b'{"a": 1.5e300, "b": -0.0, "c": 12345678901234567890}') == {
        "a": 1.5e300,
        "b": -0.0,
        "c": 12345678901234567890,
    }
    assert parse_toml("a = 2.5\nb = 1e10\n") == {"a": 2.5, "b": 1e10}
