"""The kinds of gradient source, one module each (see :mod:`hessprobe.sources`).

Every kind implements :class:`~hessprobe.kinds.base.Source` (a source with its options,
not yet at a point) and :class:`~hessprobe.kinds.base.Prepared` (the source at a checked
point, with the operations the engines use).  A new kind is one new module here and one
line in :func:`hessprobe.sources.resolve`.
"""
