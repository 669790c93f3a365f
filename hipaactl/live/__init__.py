"""Reading live state: takes a ``Config`` and a ``Provider``, gives a ``LiveState``.

Lists accounts, classifies them into scope, reads each account's resources concurrently
and flattens them into addressed resources (the inventory) for diff and fingerprint.
"""
