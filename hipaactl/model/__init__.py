"""The shared vocabulary of every stage: imports no stage.

Takes in nothing; gives out the frozen dataclasses and enums of normalized state, resource
types, addresses, ``Change``/``ManualAction`` and target matching, and the one scrubber
(``scrub``) every sink passes its text through so no credential reaches it.
"""
