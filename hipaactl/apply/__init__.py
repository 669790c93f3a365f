"""Applying: takes a ``Plan`` and a ``Provider``; gives an ``ApplyReport`` and log records.

Orders changes, runs them under the working-directory lock, and appends every outcome to
the hash-chained change log.
"""
