"""A minimal in-memory pack for tests of stages that only need its PHI data."""

from __future__ import annotations

from hipaactl.policy.model import Pack

# The PHI fields SPEC section 3 lists (recording_url is PHI unless login is required).
PHI_FIELDS = (
    "caller_name",
    "caller_number",
    "caller_email",
    "caller_city",
    "caller_state",
    "caller_zip",
    "caller_address",
    "transcription",
    "call_notes",
    "tags",
    "voicemail_url",
    "message_body",
    "form_fields",
    "custom_fields",
)

PHI_PACK = Pack(
    id="test-pack",
    version="0",
    title="test",
    sha256="0" * 64,
    eligible_plans=("advanced",),
    phi_fields=PHI_FIELDS,
    login_protected_fields=("recording_url",),
    shared_mailbox_local_parts=("frontdesk",),
    attestation_max_age_days=365,
    rules=(),
    source_path="builtin:test-pack",
)
