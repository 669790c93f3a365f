"""Command workflows behind the CLI: each wires library stages for one command.

This package and ``hipaactl.cli`` are the only code that writes to stdout or stderr.
"""
