"""Which notification and trigger fields count as PHI: the one place that knows the rule.

Used by the PHI rules (``{ ref = "phi_fields" }``) and by the diff stage, which strips
these fields from notifications and triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

from hipaactl.policy.model import Pack


def phi_fields_for(
    packs: Sequence[Pack],
    *,
    extra: Sequence[str],
    require_login_for_recordings: bool | None,
) -> frozenset[str]:
    """The packs' PHI fields plus the config's ``extra_phi_fields``; login-protected
    fields (``recording_url``) count unless a login is known to be required to open them
    (pass the desired value when declared, else the live one; None when neither is known).

    Names are lowercased: field names compare case-insensitively (SPEC section 3), so
    test membership with ``is_phi``."""
    fields = {f for pack in packs for f in pack.phi_fields}
    fields.update(extra)
    if require_login_for_recordings is not True:
        fields.update(f for pack in packs for f in pack.login_protected_fields)
    return frozenset(f.lower() for f in fields)


def is_phi(field: str, phi: frozenset[str]) -> bool:
    """Whether a live field name (``Caller_Name``) is in a ``phi_fields_for`` set."""
    return field.lower() in phi
