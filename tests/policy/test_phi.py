"""The PHI field list shared by the PHI rules and the diff stage."""

from __future__ import annotations

import pytest

from hipaactl.policy.phi import phi_fields_for
from tests.packs import PHI_FIELDS

from .builders import builtin_packs, pack


def test_union_of_packs_and_extra_fields() -> None:
    first = pack(phi_fields=("caller_name",), login_protected_fields=())
    second = pack(phi_fields=("tags",), login_protected_fields=())
    fields = phi_fields_for(
        (first, second), extra=("insurance_id",), require_login_for_recordings=None
    )
    assert fields == {"caller_name", "tags", "insurance_id"}


@pytest.mark.parametrize(
    ("login", "has_recording_url"), [(True, False), (False, True), (None, True)]
)
def test_recording_url_is_phi_unless_login_is_required(
    login: bool | None, has_recording_url: bool
) -> None:
    fields = phi_fields_for(builtin_packs(), extra=(), require_login_for_recordings=login)
    assert ("recording_url" in fields) is has_recording_url


def test_builtin_packs_list_the_spec_fields() -> None:
    fields = phi_fields_for(
        builtin_packs("ctm-hipaa-current"), extra=(), require_login_for_recordings=None
    )
    assert fields == {*PHI_FIELDS, "recording_url"}  # the list of SPEC section 3
