"""Policy packs: take pack TOML and normalized state, give ``RuleResult`` values.

Packs are data (SPEC section 7); the gate, the read-only facts and check all evaluate here.
"""
