"""The per-directory working copy of the embedded sandbox, and the provider built on it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hipaactl.config.model import ProviderSettings
from hipaactl.errors import ProviderError
from hipaactl.model.changes import Change
from hipaactl.providers.base import ProviderContext
from hipaactl.providers.sandbox import create_provider
from hipaactl.providers.sandbox.generate import compliant_account, compliant_security
from hipaactl.providers.sandbox.workcopy import (
    SandboxStateError,
    WorkingCopy,
    default_seed_path,
    example_dir,
    open_working_copy,
    reset_working_copy,
    working_copy_path,
)


def write_seed(path: Path, *account_ids: int) -> Path:
    document = {
        "agency": {"security": compliant_security()},
        "accounts": [compliant_account(i, f"Clinic {i}") for i in account_ids],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def context(work_dir: Path, seed: Path | None) -> ProviderContext:
    return ProviderContext(
        settings=ProviderSettings(kind="sandbox", seed=seed),
        config_path=work_dir / "hipaa.toml",
        work_dir=work_dir,
        environ={},
    )


def saved(work_dir: Path) -> Any:
    return json.loads(working_copy_path(work_dir).read_text(encoding="utf-8"))


def test_first_use_copies_the_seed_and_records_its_digest(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "sandbox" / "agency.json", 1001)
    copy = open_working_copy(tmp_path, seed)
    wrapper = saved(tmp_path)
    assert wrapper["state"] == json.loads(seed.read_text(encoding="utf-8")) == copy.document
    assert wrapper["seed"] == str(seed)
    assert len(wrapper["seed_sha256"]) == 64
    assert working_copy_path(tmp_path) == tmp_path / ".hipaactl" / "sandbox" / "state.json"


def test_writes_are_seen_by_the_next_provider_in_the_same_folder(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "seed.json", 1001)
    first = create_provider(context(tmp_path, seed))
    first.apply_change(
        Change("agency.security", "agency.security", "update", after={"two_factor": "off"})
    )
    first.close()
    second = create_provider(context(tmp_path, seed))
    assert second.read_agency_security().two_factor == "off"
    assert saved(tmp_path)["state"]["agency"]["security"]["two_factor"] == "off"


def test_a_config_with_another_seed_is_refused(tmp_path: Path) -> None:
    open_working_copy(tmp_path, write_seed(tmp_path / "a.json", 1001))
    other = write_seed(tmp_path / "b.json", 1002)
    with pytest.raises(SandboxStateError) as caught:
        open_working_copy(tmp_path, other)
    assert "b.json" in str(caught.value)
    assert caught.value.hint is not None
    assert "hipaactl sandbox reset" in caught.value.hint


def test_an_edited_seed_is_another_seed(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "seed.json", 1001)
    open_working_copy(tmp_path, seed)
    write_seed(seed, 1001, 1002)
    with pytest.raises(SandboxStateError, match="was seeded from") as caught:
        open_working_copy(tmp_path, seed)
    # It used to say "seeded from seed.json (…), not from seed.json (…)".
    assert "the seed file changed since" in str(caught.value)
    assert "not from" not in str(caught.value)


def test_reset_starts_over_from_the_given_seed(tmp_path: Path) -> None:
    first = write_seed(tmp_path / "a.json", 1001)
    provider = create_provider(context(tmp_path, first))
    provider.apply_change(
        Change("agency.security", "agency.security", "update", after={"two_factor": "off"})
    )
    other = write_seed(tmp_path / "b.json", 1002)
    assert reset_working_copy(tmp_path, other) == working_copy_path(tmp_path)
    copy = open_working_copy(tmp_path, other)
    assert [a["id"] for a in copy.document["accounts"]] == [1002]
    assert copy.document["agency"]["security"]["two_factor"] == "every_login"


def test_no_seed_means_the_packaged_clinic_example(tmp_path: Path) -> None:
    assert default_seed_path() == example_dir("clinic") / "sandbox" / "agency.json"
    provider = create_provider(context(tmp_path, None))
    assert 1999 in [a.id for a in provider.list_accounts()]
    assert saved(tmp_path)["seed"] == str(default_seed_path())


def test_an_unknown_example_is_an_error() -> None:
    with pytest.raises(SandboxStateError, match="no example named 'dental'"):
        example_dir("dental")


def test_a_missing_seed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxStateError, match="cannot read the sandbox seed"):
        open_working_copy(tmp_path, tmp_path / "missing.json")
    assert not working_copy_path(tmp_path).exists()


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b'{"accounts": []}'])
def test_a_bad_seed_is_an_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    seed = tmp_path / "seed.json"
    seed.write_bytes(content)
    with pytest.raises(SandboxStateError, match=r"seed\.json: not a sandbox document"):
        open_working_copy(tmp_path, seed)


@pytest.mark.parametrize("content", ["{broken", '{"format": 99}', '{"format": 1, "seed": "s", '
                                     '"seed_sha256": "x", "state": []}'])  # fmt: skip
def test_a_damaged_working_copy_suggests_reset(tmp_path: Path, content: str) -> None:
    seed = write_seed(tmp_path / "seed.json", 1001)
    path = working_copy_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SandboxStateError) as caught:
        open_working_copy(tmp_path, seed)
    assert caught.value.hint is not None
    assert "sandbox reset" in caught.value.hint


def test_a_failed_save_is_a_provider_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    copy = WorkingCopy(blocker / "state.json", "seed.json", "0" * 64, {"accounts": []})
    with pytest.raises(ProviderError, match="cannot save the sandbox working copy"):
        copy.save(copy.document)


def test_a_working_copy_that_is_a_folder_is_unreadable_not_damaged(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "seed.json", 1001)
    working_copy_path(tmp_path).mkdir(parents=True)
    with pytest.raises(SandboxStateError) as caught:
        open_working_copy(tmp_path, seed)
    message = str(caught.value)
    assert "cannot read the sandbox working copy" in message
    assert "it is a folder, not a file" in message
    assert "Errno" not in message and "sandbox reset" not in message  # a reset would not help


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_working_copy_without_read_permission_says_so(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "seed.json", 1001)
    open_working_copy(tmp_path, seed)
    working_copy_path(tmp_path).chmod(0)
    with pytest.raises(SandboxStateError) as caught:
        open_working_copy(tmp_path, seed)
    message = str(caught.value)
    assert "permission denied: check the file's permissions" in message
    assert "Errno" not in message and "sandbox reset" not in message
