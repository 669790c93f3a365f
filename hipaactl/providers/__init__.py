"""Pluggable API clients: take a ``Config`` section, give a ``Provider`` that lists
accounts, reads normalized state and applies one ``Change`` (SPEC section 4)."""
