"""``import`` always round-trips (issue 16 item 3): for random live states the config can
express, import (into another folder), then plan with the imported file: no changes.

The live states are the packaged demo agency with every value the config manages drawn
from the config model itself (pydantic annotations and bounds), so a key or value added
to the model is covered without touching this test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from annotated_types import Ge, Le
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hipaactl.cli import main
from hipaactl.commands.common import open_provider_for
from hipaactl.config.schema import AccountSettingsModel, AgencySecurityModel, UserModel
from hipaactl.model.state import TranscriptionMode
from hipaactl.pipeline import PlanOptions, build_plan, load_inputs
from hipaactl.plan.desired import CALL_SETTINGS_KEYS, SETTINGS_KEYS
from tests.conftest import EXAMPLE

SEED = EXAMPLE / "sandbox" / "agency.json"
CONFIG = """\
version = 1
policies = ["ctm-hipaa-current"]

[provider]
seed = "sandbox/agency.json"

[accounts]
include = ["*"]
"""


# -- values the config can express, from its model ------------------------------------


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, type(int | None)):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
    return annotation


def values_of(field: FieldInfo) -> st.SearchStrategy[Any]:
    """Every value a config field accepts: its literals, booleans, or integers within
    its bounds (and a little beyond the usual range when it has no upper bound)."""
    annotation = _without_none(field.annotation)
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return st.sampled_from(get_args(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = next((m.ge for m in field.metadata if isinstance(m, Ge)), 0)
        high = next((m.le for m in field.metadata if isinstance(m, Le)), low + 1000)
        return st.integers(min_value=int(low), max_value=int(high))
    raise AssertionError(f"no strategy for {annotation!r}: extend values_of")


def field_at(model: type[BaseModel], dotted: str) -> FieldInfo:
    """``recordings.encrypted`` of AccountSettingsModel: the nested field."""
    head, _, rest = dotted.partition(".")
    field = model.model_fields[head]
    if not rest:
        return field
    inner = _without_none(field.annotation)
    assert isinstance(inner, type) and issubclass(inner, BaseModel)
    return field_at(inner, rest)


def agency_security() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {name: values_of(field) for name, field in AgencySecurityModel.model_fields.items()}
    )


def account_settings() -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        live: values_of(field_at(AccountSettingsModel, key))
        for live, key in SETTINGS_KEYS.items()
        if key != "transcription"
    }
    # Live accounts always have a transcription mode; "off" is a profile switch.
    fields["transcription_mode"] = st.sampled_from(get_args(TranscriptionMode))
    return st.fixed_dictionaries(fields)


def profile() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({live: st.booleans() for live in CALL_SETTINGS_KEYS})


NAMES = st.text(alphabet="abcdefghij -'ÅÉ", min_size=1, max_size=8).filter(str.strip)


def user(index: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "email": st.sampled_from(
                [f"person{index}@clinic.example", f"Person{index}@Clinic.example"]
            ),
            "first_name": NAMES,
            "last_name": NAMES,
            "role": values_of(UserModel.model_fields["role"]),
        }
    )


@st.composite
def live_states(draw: st.DrawFn) -> dict[str, Any]:
    """The demo agency with its agency security, and each account's settings, profiles
    and users, drawn at random."""
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    seed["agency"]["security"].update(draw(agency_security()))
    for account in seed["accounts"]:
        account.setdefault("settings", {}).update(draw(account_settings()))
        template = account["call_settings"][0] if account.get("call_settings") else {}
        count = draw(st.integers(min_value=0, max_value=3))
        account["call_settings"] = [
            {**template, "id": f"CS{account['id']}-{n}", "name": f"Line {n}", **draw(profile())}
            for n in range(count)
        ]
        template = account["users"][0] if account.get("users") else {}
        users = draw(st.lists(st.integers(0, 5), unique=True, max_size=3))
        account["users"] = [
            {**template, "id": f"{account['id']}{n}", "status": "active", **draw(user(n))}
            for n in users
        ]
    return seed


# -- running it -------------------------------------------------------------------------


@contextmanager
def working_in(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def planned_changes(config: Path) -> list[str]:
    """Addresses a plan of ``config`` would change, whatever the gate says (an imported
    file declares the live values, so it may fail mandatory rules)."""
    inputs = load_inputs(config, today=dt.date.today())
    provider = open_provider_for(inputs.config)
    try:
        plan = build_plan(inputs, provider, PlanOptions())
    finally:
        provider.close()
    return [f"{c.address}: {c.before} -> {c.after}" for c in plan.changes]


def clinic_with(seed: dict[str, Any], folder: Path) -> Path:
    (folder / "sandbox").mkdir(parents=True)
    (folder / "sandbox" / "agency.json").write_text(json.dumps(seed), encoding="utf-8")
    (folder / "hipaa.toml").write_text(CONFIG, encoding="utf-8")
    return folder


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=live_states(), elsewhere=st.booleans())
def test_import_then_plan_is_empty(
    seed: dict[str, Any], elsewhere: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as temp, working_in(clinic_with(seed, Path(temp))):
        target = "elsewhere/imported.toml" if elsewhere else "imported.toml"
        assert run("import", "-o", target) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert planned_changes(Path(target)) == []
        if run("validate", "-c", target) == 0:  # the gate passes: plan through the CLI
            assert run("plan", "-c", target, "--detailed-exitcode") == 0
        capsys.readouterr()


# -- another folder, and what the config cannot express -------------------------------


def test_import_into_another_folder_carries_the_sandbox_state(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("apply", "--auto-approve") == 0  # live state now differs from the seed
    capsys.readouterr()
    assert run("import", "-o", "adopted/imported.toml") == 0
    err = capsys.readouterr().err
    assert "Copied the sandbox working copy to adopted/.hipaactl/sandbox/state.json" in err
    assert run("plan", "-c", "adopted/imported.toml", "--detailed-exitcode") == 0
    assert "No changes." in capsys.readouterr().out


def test_a_different_working_copy_there_is_kept_and_named(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("import", "-o", "adopted/imported.toml") == 0
    assert run("apply", "--auto-approve") == 0
    capsys.readouterr()
    assert run("import", "-o", "adopted/imported.toml", "--force") == 0
    err = capsys.readouterr().err
    assert "adopted/.hipaactl/sandbox/state.json is another sandbox working copy" in err
    assert "delete it" in err


def test_paths_are_rewritten_relative_to_the_output_file(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    builtin = Path(__file__).resolve().parents[2] / "policies" / "ctm-hipaa-2018.toml"
    pack = builtin.read_text(encoding="utf-8").replace('id = "ctm-hipaa-2018"', 'id = "house"')
    (clinic / "house.toml").write_text(pack, encoding="utf-8")
    text = (clinic / "hipaa.toml").read_text(encoding="utf-8")
    text = text.replace('policies = ["ctm-hipaa-current"]', 'policies = ["house.toml"]')
    text += '\n[audit]\npath = "logs/audit.jsonl"\n'
    (clinic / "hipaa.toml").write_text(text, encoding="utf-8")
    assert run("import", "-o", "deep/er/imported.toml") == 0
    imported = (clinic / "deep" / "er" / "imported.toml").read_text(encoding="utf-8")
    assert '"../../house.toml"' in imported
    assert 'document = "../../contracts/ctm-baa.pdf"' in imported
    assert 'path = "../../logs/audit.jsonl"' in imported
    assert 'seed = "../../sandbox/agency.json"' in imported
    assert run("validate", "-c", "deep/er/imported.toml") in (0, 3)


def test_every_failing_live_value_is_marked_even_where_its_condition_is_left_out(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Account 1001's profiles disagree about recording and transcription, so those keys
    # are left out; its encryption is off and its transcription enhanced all the same.
    assert run("import", "-o", "imported.toml") == 0
    lines = (clinic / "imported.toml").read_text(encoding="utf-8").splitlines()
    first = lines.index("id = 1001")
    block = lines[first : lines.index("id = 1002")]
    encrypted = block.index("encrypted = false")
    assert block[encrypted - 1].startswith("# violates CTM-ENC-01 (mandatory)")
    transcription = next(
        i for i, line in enumerate(block) if line.startswith("# transcription left out")
    )
    assert block[transcription + 1].startswith(
        '# live value violates CTM-TRN-01 (mandatory): transcription_mode is "enhanced"'
    )


def test_values_the_config_cannot_express_are_left_out_with_what_they_were(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_path = clinic / "sandbox" / "agency.json"
    seed = json.loads(seed_path.read_text(encoding="utf-8"))
    seed["agency"]["security"]["idle_timeout_minutes"] = 2000  # beyond 1..1440
    seed["accounts"][0]["users"][0]["first_name"] = " "  # the config needs a name
    email = seed["accounts"][0]["users"][0]["email"]
    seed_path.write_text(json.dumps(seed), encoding="utf-8")
    assert run("import", "-o", "imported.toml") == 0
    err = capsys.readouterr().err
    text = (clinic / "imported.toml").read_text(encoding="utf-8")
    assert (
        "# idle_timeout_minutes left out: the live value 2000 cannot be written here "
        "(must be between 1 and 1440, got 2000)"
    ) in text
    assert f"# user {email} left out: its first_name cannot be written here" in text
    assert "does not validate" not in err
    assert planned_changes(clinic / "imported.toml") == []


def test_a_live_role_the_config_does_not_know_leaves_the_user_out_saying_so(
    tmp_path: Path,
) -> None:
    """CTM may return any role string; the config knows a closed set. The user is left
    out whole (additive mode never removes it) with a comment naming the role."""
    from hipaactl.commands.import_ import render_import
    from tests import builders as b
    from tests.plan.test_importer import source

    owner = b.user("boss@clinic.example", role="owner")
    state = b.account(1001, users=(owner, b.user("ada@clinic.example")))
    text, warnings = render_import(source(state, out_dir=tmp_path), "imported.toml")
    note = next(line for line in text.splitlines() if line.startswith("# user boss@"))
    assert note.startswith("# user boss@clinic.example left out: ") and "owner" in note
    assert 'email = "ada@clinic.example"' in text and 'boss@clinic.example"' not in text
    assert any("user boss@clinic.example left out" in w for w in warnings)
    assert not any("does not validate" in w for w in warnings)
