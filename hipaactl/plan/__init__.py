"""Planning: takes a ``Config``, the packs and a ``LiveState``; gives a ``Plan``.

Resolves the desired state, diffs it against live state into sorted ``Change`` values,
marks unsafe ones, and reads and writes the versioned Plan JSON format.
"""
