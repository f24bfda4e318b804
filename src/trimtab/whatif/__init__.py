"""The what-if: every trade logic over a whole book, side by side (docs/whatif.md).

:mod:`~trimtab.whatif.compare` runs the logics over the same accounts through the one
proposing pipeline; :mod:`~trimtab.whatif.figures` turns each proposal into per-account
figures; :mod:`~trimtab.whatif.book` feeds a book folder chunk by chunk (the service feeds
a firm's book: :mod:`trimtab.service.whatif`); :mod:`~trimtab.whatif.tables`,
:mod:`~trimtab.whatif.report`, :mod:`~trimtab.whatif.charts` and :mod:`~trimtab.whatif.html`
show and write the result.
"""
