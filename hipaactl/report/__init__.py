"""Reporting: takes rule results, plans and apply reports; gives text for people and tools.

Builds the check report, renders every format as pure functions to ``str``, generates the
reference docs, and posts drift alerts without personal data.
"""
