"""The desired-state file: takes TOML bytes, gives a validated, frozen ``Config``.

Pydantic lives only here (the edge); every error names the file, key path and line.
"""
