"""The validated desired state as frozen dataclasses: what every stage after loading sees.

Pydantic stays in ``config.schema``; ``config.load`` turns its models into these.
A field that is ``None`` is not declared, so it is not managed (SPEC section 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hipaactl.model.state import RedactionSchedule, Role, TwoFactor

Transcription = Literal["off", "standard", "secure", "enhanced"]
PhiFieldsMode = Literal["strip", "keep"]
UsersMode = Literal["additive", "exact"]
ProviderKind = str  # "sandbox" | "ctm" | any registered entry point

DEFAULT_RATE_LIMIT = 10.0
DEFAULT_PARALLELISM = 8
DEFAULT_AUDIT_PATH = ".hipaactl/audit.jsonl"


@dataclass(frozen=True)
class ProviderSettings:
    kind: ProviderKind = "sandbox"
    seed: Path | None = None  # absolute, resolved against the config file's folder
    base_url: str | None = None
    rate_limit: float = DEFAULT_RATE_LIMIT
    parallelism: int = DEFAULT_PARALLELISM
    endpoints: Mapping[str, str] = field(default_factory=dict, hash=False)
    # ctm only: write to the inferred endpoints (SPEC section 4); the sandbox ignores it.
    allow_inferred_writes: bool = False


@dataclass(frozen=True)
class AgencySecurityDesired:
    idle_timeout_minutes: int | None = None
    two_factor: TwoFactor | None = None
    require_login_for_recordings: bool | None = None
    allow_account_override: bool | None = None
    allow_email_mfa: bool | None = None
    recording_link_expiry_days: int | None = None


@dataclass(frozen=True)
class UserDesired:
    """A declared user; names are managed only where declared (None: left alone), and
    are needed only to create the user. ``index`` is its position in its account's
    ``[[account.user]]`` list, for messages (``account[#0].user[#1].first_name``)."""

    email: str
    first_name: str | None
    last_name: str | None
    role: Role
    index: int = 0

    @property
    def key(self) -> str:
        """The email lower-cased: users are matched by it, as CTM treats emails case-blind."""
        return self.email.lower()


@dataclass(frozen=True)
class AccountDesired:
    """Per-account desired settings, ``[defaults]`` already merged in key by key."""

    recordings_enabled: bool | None = None
    recordings_encrypted: bool | None = None
    recordings_encrypted_storage: bool | None = None
    transcription: Transcription | None = None
    redaction: RedactionSchedule | None = None
    caller_id_enabled: bool | None = None
    caller_id_enhanced: bool | None = None
    phi_fields: PhiFieldsMode | None = None
    extra_phi_fields: tuple[str, ...] = ()
    users_mode: UsersMode | None = None
    users: tuple[UserDesired, ...] = ()


@dataclass(frozen=True)
class AccountSpec:
    """One ``[[account]]`` entry; ``index`` is its position in the file (``account[#0]``)."""

    id: int
    index: int
    desired: AccountDesired


@dataclass(frozen=True)
class Exclusion:
    """``id`` matches an account id; ``name`` is a glob over account names."""

    reason: str
    id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class AccountSelector:
    """``include`` is None when the config has no ``[accounts]`` table."""

    include: tuple[int | str, ...] | None = None
    exclude: tuple[Exclusion, ...] = ()


@dataclass(frozen=True)
class BaaAttestation:
    counterparty: str
    effective_on: dt.date
    confirmed_on: dt.date
    by: str
    document: str | None = None
    # SHA-256 of the document file when it exists beside the config (relative to it).
    document_sha256: str | None = None


@dataclass(frozen=True)
class IndividualLoginsAttestation:
    confirmed_on: dt.date
    by: str


@dataclass(frozen=True)
class Attestations:
    baa: BaaAttestation | None = None
    individual_logins: IndividualLoginsAttestation | None = None
    max_age_days: int | None = None
    facts: tuple[FactAttestation, ...] = ()


@dataclass(frozen=True)
class AllowedIntegration:
    name: str
    baa: bool
    host: str | None = None  # a webhook receiver's host name, lowercased


@dataclass(frozen=True)
class FactAttestation:
    """A person's dated word for a fact a rule needs and the API does not expose
    (``[attestations.facts."RULE-ID"]``, SPEC section 7)."""

    rule_id: str
    confirmed_on: dt.date
    by: str
    note: str


@dataclass(frozen=True)
class Override:
    rule_id: str
    enforcement: Literal["advisory"]
    reason: str
    approved_by: str
    expires_on: dt.date


@dataclass(frozen=True)
class Config:
    path: Path  # absolute path of the config file as given (a symbolic link is kept)
    sha256: str  # of the file's bytes (pack files are added by the plan digest)
    version: int
    policies: tuple[str, ...]
    provider: ProviderSettings
    agency_security: AgencySecurityDesired
    defaults: AccountDesired
    selector: AccountSelector
    accounts: tuple[AccountSpec, ...]
    attestations: Attestations
    integrations: tuple[AllowedIntegration, ...] | None  # None: no [integrations] table
    overrides: tuple[Override, ...]
    audit_path: Path  # absolute
    # Line of each declared key path ("agency.security.idle_timeout_minutes",
    # "account[#0].transcription"), so reports can point into the file.
    key_lines: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def directory(self) -> Path:
        """The folder holding the config file (the real one when ``path`` is a symbolic
        link to it); relative paths in it, and ``.hipaactl/``, resolve from here."""
        return self.path.resolve().parent

    def spec_for(self, account_id: int) -> AccountSpec | None:
        """The ``[[account]]`` entry for ``account_id``, or None if the config has none."""
        return next((a for a in self.accounts if a.id == account_id), None)
