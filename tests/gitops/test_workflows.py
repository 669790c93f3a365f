"""The GitOps recipes of examples/gitops work as copied (SPEC section 8).

Every workflow validates against the published GitHub Actions workflow schema (GitLab's
file against GitLab CI's), offline: check-jsonschema ships copies of both. actionlint
runs when it is installed (its PyPI package only ships a source build that
downloads the binary, which CI cannot do); without it, every workflow is parsed as YAML
and checked for the contract, and every ``hipaactl`` command line in the recipes is
parsed by the real CLI and run, in order, against a copy of the clinic example.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hipaactl.commands.check import parse_report_format
from tests.commandlines import Command, Outcome, Session, hipaactl_commands, parse_cli
from tests.conftest import EXAMPLE
from tests.webhook import Receiver, receiving

ROOT = Path(__file__).resolve().parents[2]
GITOPS = ROOT / "examples" / "gitops"
WORKFLOWS = GITOPS / ".github" / "workflows"
GITLAB = GITOPS / ".gitlab-ci.yml"
CRONTAB = GITOPS / "crontab"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOW_NAMES = (
    "hipaactl-pr.yml",
    "hipaactl-apply.yml",
    "hipaactl-nightly.yml",
    "hipaactl-evidence.yml",
)
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def steps(path: Path) -> list[dict[str, Any]]:
    return [step for job in load(path)["jobs"].values() for step in job["steps"]]


def job_script(path: Path) -> str:
    """Every ``run:`` of a workflow in order, expressions replaced by a placeholder."""
    runs = [step["run"] for step in steps(path) if "run" in step]
    return _EXPRESSION.sub("expression", "\n".join(runs))


def gitlab_script(job: str) -> str:
    return "\n".join(load(GITLAB)[job]["script"])


def crontab_commands() -> str:
    entries = [
        line.split(None, 5)[5]
        for line in CRONTAB.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and not re.match(r"\w+=", line)
    ]
    assert len(entries) == 1, "the crontab recipe is one line"
    return entries[0]


def every_command_line() -> list[tuple[str, Command]]:
    texts = {path.name: job_script(path) for path in sorted(WORKFLOWS.glob("*.yml"))}
    texts.update({f"gitlab:{job}": gitlab_script(job) for job in _gitlab_jobs()})
    texts["crontab"] = crontab_commands()
    return [(name, command) for name, text in texts.items() for command in hipaactl_commands(text)]


def _gitlab_jobs() -> list[str]:
    return [name for name, job in load(GITLAB).items() if isinstance(job, dict) and "script" in job]


# -- the files and their YAML ------------------------------------------------------------


def test_the_workflows_of_the_spec_are_there() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted(WORKFLOW_NAMES)


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_every_workflow_is_well_formed(name: str) -> None:
    workflow = load(WORKFLOWS / name)
    assert workflow["name"] and triggers(workflow)
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed")
def test_actionlint_finds_nothing() -> None:
    paths = [str(WORKFLOWS / name) for name in WORKFLOW_NAMES]
    result = subprocess.run(
        ["actionlint", "-no-color", *paths], check=False, capture_output=True, timeout=120
    )
    assert result.returncode == 0, (result.stdout + result.stderr).decode()


def test_every_hipaactl_line_of_the_recipes_parses_with_the_real_cli() -> None:
    found = every_command_line()
    assert len(found) >= 15
    commands = {tuple(parse_cli(command.args)) for _, command in found}
    for _, command in found:
        if "--format" in command.args:  # checked by the command, not the parser
            parse_report_format(command.args[command.args.index("--format") + 1])
    expected = {("validate",), ("plan",), ("check",), ("show",), ("apply",), ("audit", "verify")}
    assert expected <= commands


def test_a_bad_command_line_would_be_caught() -> None:
    with pytest.raises(AssertionError, match="--detailed-exit"):
        parse_cli(["plan", "--detailed-exit"])
    with pytest.raises(AssertionError, match=r"PLAN_FILE|Missing argument"):
        parse_cli(["show"])


# -- the contract of SPEC section 8 ------------------------------------------------------


def _by_uses(path: Path, action: str) -> dict[str, Any]:
    return next(s for s in steps(path) if s.get("uses", "").startswith(action + "@"))


def test_pull_request_workflow_plans_comments_and_keeps_the_reviewed_plan() -> None:
    path = WORKFLOWS / "hipaactl-pr.yml"
    assert "pull_request" in triggers(load(path))
    lines = [" ".join(c.words) for c in hipaactl_commands(job_script(path))]
    assert lines[:2] == ["hipaactl validate", "hipaactl plan -o plan.json"]
    assert "hipaactl check --format markdown -o check.md" in lines
    assert "hipaactl check --format sarif -o hipaactl.sarif" in lines
    assert "hipaactl show plan.json" in lines
    assert "createComment" in _by_uses(path, "actions/github-script")["with"]["script"]
    assert _by_uses(path, "github/codeql-action/upload-sarif")["with"]["sarif_file"] == (
        "hipaactl.sarif"
    )
    artifact = _by_uses(path, "actions/upload-artifact")["with"]
    assert artifact["name"] == "hipaactl-reviewed-plan" and "plan.json" in artifact["path"]


def test_apply_workflow_compares_the_digest_and_applies_in_a_protected_environment() -> None:
    path = WORKFLOWS / "hipaactl-apply.yml"
    workflow = load(path)
    assert triggers(workflow) == {"push": {"branches": ["main"]}}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "ctm-production"
    assert job["concurrency"] == {"group": "hipaactl-apply", "cancel-in-progress": False}
    assert workflow["env"]["AUDIT_BRANCH"] == "audit-log"
    script = job_script(path)
    assert "gh run download" in script and "--name hipaactl-reviewed-plan" in script
    assert '[ "$reviewed" != "$merged" ]' in script
    assert 'cp "$AUDIT_DIR/audit.jsonl" "$AUDIT_DIR/audit.head"' in script
    lines = [" ".join(c.words) for c in hipaactl_commands(script)]
    assert lines.index("hipaactl plan -o plan.json") < lines.index("hipaactl apply plan.json")
    pushed = next(s for s in job["steps"] if "refs/heads/$AUDIT_BRANCH" in s.get("run", ""))
    assert pushed["if"].startswith("always()")  # a failed apply's records are pushed too


def test_nightly_workflow_alerts_and_fails_on_any_non_zero_exit() -> None:
    path = WORKFLOWS / "hipaactl-nightly.yml"
    workflow = load(path)
    assert "schedule" in triggers(workflow)
    (job,) = workflow["jobs"].values()
    assert job["env"]["HIPAACTL_NOTIFY_URL"] == "${{ secrets.HIPAACTL_NOTIFY_URL }}"
    commands = hipaactl_commands(job_script(path))
    assert [c.args[0] for c in commands] == ["plan", "check", "check"]
    plan, check, html = commands
    assert "--detailed-exitcode" in plan.args
    assert all(
        c.args[c.args.index("--notify") + 1] == "$HIPAACTL_NOTIFY_URL" for c in (plan, check)
    )
    assert 'test "$PLAN_CODE" = 0 && test "$CHECK_CODE" = 0' in job_script(path)
    # The HTML page re-reads live state and must not alert a second time.
    assert " ".join(html.words) == "hipaactl check --format html -o check.html --history history"
    assert html.environ == {"HIPAACTL_NOTIFY_URL": ""}


def test_nightly_workflow_keeps_the_json_report_and_publishes_the_html_one() -> None:
    path = WORKFLOWS / "hipaactl-nightly.yml"
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read", "actions": "read"}
    uploads = {
        step["with"]["name"]: step
        for step in steps(path)
        if step.get("uses", "").startswith("actions/upload-artifact@")
    }
    assert uploads["hipaactl-check-json"]["with"]["path"] == "check.json"
    assert uploads["hipaactl-check-html"]["with"]["path"] == "check.html"
    assert all(step["if"].startswith("always()") for step in uploads.values())
    (check,) = [c for c in hipaactl_commands(job_script(path)) if "json" in c.args]
    assert check.args[:4] == ("check", "--format", "json", "-o") and check.args[4] == "check.json"
    script = job_script(path)
    assert '--name hipaactl-check-json --dir "history/$id"' in script
    # The trend's history is what earlier runs uploaded: the same artifact name.
    assert "gh run list" in script


def test_every_workflow_validates_against_the_published_schema_offline(
    tmp_path: Path,
) -> None:
    """check-jsonschema's vendored copy of SchemaStore's GitHub workflow schema (and
    GitLab CI's), with every proxy pointed at a closed port: a download would fail."""
    files = [*(WORKFLOWS / name for name in WORKFLOW_NAMES)]
    assert validate_offline("vendor.github-workflows", files, tmp_path).returncode == 0
    assert validate_offline("vendor.gitlab-ci", [GITLAB], tmp_path).returncode == 0


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = load(WORKFLOWS / "hipaactl-nightly.yml")
    broken["jobs"]["drift"]["runs-on"] = {"labels": 3}
    broken["jobs"]["drift"]["timeout-minute"] = 10
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = validate_offline("vendor.github-workflows", [path], tmp_path)
    assert result.returncode == 1, result.stdout
    assert "broken.yml" in result.stdout


def validate_offline(
    schema: str, files: list[Path], cache: Path
) -> subprocess.CompletedProcess[str]:
    dead = "http://127.0.0.1:9"
    environ = {
        **os.environ,
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "http_proxy": dead,
        "https_proxy": dead,
        "XDG_CACHE_HOME": str(cache),  # no cached download can stand in for the network
    }
    environ.pop("NO_PROXY", None)
    environ.pop("no_proxy", None)
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    return subprocess.run(
        [*command, *map(str, files)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


def test_gitlab_recipe_serialises_applies_with_a_resource_group() -> None:
    pipeline = load(GITLAB)
    assert pipeline["hipaactl-apply"]["resource_group"] == "hipaactl-apply"
    assert pipeline["hipaactl-apply"]["environment"] == {"name": "ctm-production"}
    assert pipeline["hipaactl-plan"]["artifacts"]["reports"] == {"junit": "hipaactl-junit.xml"}
    assert pipeline["hipaactl-nightly"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    nightly = [c.args[0] for c in hipaactl_commands(gitlab_script("hipaactl-nightly"))]
    assert nightly == ["plan", "check"]


def test_evidence_workflow_keeps_a_monthly_bundle_beyond_artifact_retention() -> None:
    path = WORKFLOWS / "hipaactl-evidence.yml"
    workflow = load(path)
    assert {"schedule", "workflow_dispatch"} <= set(triggers(workflow))
    assert workflow["concurrency"] == {"group": "hipaactl-evidence", "cancel-in-progress": False}
    (job,) = workflow["jobs"].values()
    assert job["env"]["HIPAACTL_AUDIT_KEY"] == "${{ secrets.HIPAACTL_AUDIT_KEY }}"
    assert [c.args[0] for c in hipaactl_commands(job_script(path))] == ["evidence"]
    # Artifacts expire (400 days at most on GitHub): the retained copies are elsewhere.
    assert _by_uses(path, "actions/upload-artifact")["with"]["retention-days"] <= 400
    script = job_script(path)
    assert 'push origin "HEAD:refs/heads/$EVIDENCE_BRANCH"' in script
    assert "--object-lock-mode COMPLIANCE" in script
    kept = [s for s in job["steps"] if "EVIDENCE_BRANCH" in s.get("run", "") and "push" in s["run"]]
    assert kept and kept[0]["if"].startswith("always()")  # a failing check is kept too


def test_gitlab_evidence_job_runs_monthly_or_by_hand_and_never_expires() -> None:
    job = load(GITLAB)["hipaactl-evidence"]
    assert job["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "schedule" && $HIPAACTL_SCHEDULE == "evidence"'},
        {"if": '$CI_PIPELINE_SOURCE == "web"'},
    ]
    assert job["artifacts"]["expire_in"] == "never"
    assert [c.args[0] for c in hipaactl_commands(gitlab_script("hipaactl-evidence"))] == [
        "evidence"
    ]


def test_crontab_line_runs_the_nightly_pair() -> None:
    assert re.match(r"^(\S+\s+){5}cd ", next(_schedule_lines()))
    commands = hipaactl_commands(crontab_commands())
    pairs = [c.args[:2] for c in commands]
    assert pairs == [("plan", "--detailed-exitcode"), ("check", "--notify")]


def _schedule_lines() -> Iterator[str]:
    for line in CRONTAB.read_text(encoding="utf-8").splitlines():
        if re.match(r"^[\d*]", line):
            yield line


def test_pre_commit_hook_runs_validate_on_toml_changes() -> None:
    (hook,) = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert hook["id"] == "hipaactl-validate" and hook["entry"] == "hipaactl validate"
    assert (hook["language"], hook["pass_filenames"]) == ("python", False)
    files = re.compile(hook["files"])
    assert files.search("hipaa.toml") and files.search("clinics/hipaa.toml")
    assert not files.search("README.md")
    parse_cli(hook["entry"].split()[1:])


# -- the recipes' hipaactl lines, run in order against the clinic example ----------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


@pytest.fixture
def session(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> Iterator[Session]:
    folder = tmp_path / "repo"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".hipaactl"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HIPAACTL_")}
    environ.update({"NO_COLOR": "1", "HIPAACTL_NOTIFY_URL": receiver.url, "HIPAACTL_HASH_KEY": "k"})
    session = Session(folder, environ, receiver.url, capsys)
    try:
        yield session
    finally:
        session.close()


def _run(session: Session, commands: list[Command], skip: str | None = None) -> list[Outcome]:
    """Run the lines in order; each exits with a code the recipe expects (1 would fail
    its step)."""
    outcomes = []
    for command in commands:
        if command.args[0] == skip:
            continue
        outcome = session.run(command)
        assert outcome is not None
        assert outcome.code in (0, 2, 3), (command.line, outcome.stderr)
        outcomes.append(outcome)
    return outcomes


def _digest(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["changes_sha256"])


def test_pull_request_then_merge_applies_exactly_the_reviewed_plan(session: Session) -> None:
    reviewed = _run(session, hipaactl_commands(job_script(WORKFLOWS / "hipaactl-pr.yml")))
    assert [o.code for o in reviewed if o.args[0] in ("validate", "plan", "show")] == [0, 0, 0]
    assert (session.cwd / "check.md").exists() and (session.cwd / "hipaactl.sarif").exists()
    (session.cwd / "reviewed").mkdir()
    (session.cwd / "plan.json").rename(session.cwd / "reviewed" / "plan.json")

    # No audit-log branch yet: the workflow skips `audit verify` on the first apply.
    apply_lines = hipaactl_commands(job_script(WORKFLOWS / "hipaactl-apply.yml"))
    merged = _run(session, apply_lines, skip="audit")

    assert _digest(session.cwd / "plan.json") == _digest(session.cwd / "reviewed" / "plan.json")
    assert [o.code for o in merged if o.args[0] == "apply"] == [0]
    # The next apply's restore step verifies the log this one wrote.
    verify = next(c for c in apply_lines if c.args[:2] == ("audit", "verify"))
    outcome = session.run(verify)
    assert outcome is not None and outcome.code == 0, outcome.stderr


def test_merge_refuses_changes_that_moved_since_the_review(session: Session) -> None:
    _run(session, hipaactl_commands(job_script(WORKFLOWS / "hipaactl-pr.yml")))
    reviewed = _digest(session.cwd / "plan.json")
    # Someone fixes one setting in CTM's UI between review and merge.
    state = session.cwd / ".hipaactl" / "sandbox" / "state.json"
    document = json.loads(state.read_text(encoding="utf-8"))
    document["state"]["agency"]["security"]["idle_timeout_minutes"] = 15
    state.write_text(json.dumps(document), encoding="utf-8")

    plan = next(
        c
        for c in hipaactl_commands(job_script(WORKFLOWS / "hipaactl-apply.yml"))
        if c.args[0] == "plan"
    )
    assert _run(session, [plan])[0].code == 0
    assert _digest(session.cwd / "plan.json") != reviewed


def test_nightly_lines_alert_on_the_clinic_drift(session: Session, receiver: Receiver) -> None:
    (session.cwd / "history").mkdir()  # the workflow's `mkdir -p history`
    outcomes = _run(session, hipaactl_commands(job_script(WORKFLOWS / "hipaactl-nightly.yml")))
    assert [o.code for o in outcomes] == [2, 3, 3]
    assert [body["source"] for body in receiver.bodies] == ["hipaactl plan", "hipaactl check"]
    assert "@" not in json.dumps(receiver.bodies)
    report = json.loads((session.cwd / "check.json").read_text(encoding="utf-8"))
    assert report["format_version"] == "1"
    assert 'id="trend"' in (session.cwd / "check.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "script", [job_script(WORKFLOWS / "hipaactl-evidence.yml"), gitlab_script("hipaactl-evidence")]
)
def test_evidence_lines_write_a_bundle_of_the_clinic(session: Session, script: str) -> None:
    (session.cwd / "history").mkdir()
    session.environ.update({"stamp": "2026-12-01T052300Z", "BUNDLE": "evidence.zip"})
    (outcome,) = _run(session, hipaactl_commands(script))
    assert outcome.code == 3  # the clinic fails mandatory rules; the bundle is kept anyway
    bundle = session.cwd / outcome.args[outcome.args.index("-o") + 1]
    with zipfile.ZipFile(bundle) as archive:
        assert "report/check.json" in archive.namelist()


def test_every_recipe_pins_this_version() -> None:
    """apply refuses a plan from another version, so every recipe must pin the same one."""
    from hipaactl import __version__

    pinned = {path.name: load(path)["env"]["HIPAACTL_VERSION"] for path in WORKFLOWS.glob("*.yml")}
    pinned["gitlab"] = load(GITLAB)["variables"]["HIPAACTL_VERSION"]
    assert set(pinned.values()) == {__version__}, pinned
