"""What a run needed but could not read, so no stage mistakes it for a value (SPEC
section 5, step 3; section 7).

Two markers, one meaning:

- a state *field* that could not be read holds ``None`` (the CTM mapping's rule for a
  missing inferred field); ``is_unread`` is the one test of it every stage uses;
- a whole *resource* that could not be read (the account list, ``agency.security``, an
  account, or one collection of an account) is an ``Unread`` in ``LiveState.unread``,
  with the provider's reason; its collection in state stays ``None``.

Plan turns a managed one into exit 1 and a read-only one into a manual action "could not
read …"; ``check`` reports every rule over either as ``error``, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The address of the account list, when it could not be read.
ACCOUNT_LIST_ADDRESS = "accounts"


@dataclass(frozen=True)
class Unread:
    """One resource a run could not read.

    ``address`` is what could not be read: ``accounts`` (the list), ``agency.security``,
    ``account[1001]`` (the whole account) or ``account[1001].number`` (a collection);
    ``resource_type`` is the type of resource it holds (``None`` for the list or a whole
    account); ``reason`` is the provider's error message, without credentials.
    ``unexposed`` is true when the read failed because the API does not expose it (a 404
    from an inferred endpoint, SPEC section 7): only then may a person attest the fact.
    """

    address: str
    reason: str
    account_id: int | None = None
    resource_type: str | None = None
    unexposed: bool = False


def is_unread(value: Any) -> bool:
    """Whether a normalized state field holds no value because it could not be read."""
    return value is None
