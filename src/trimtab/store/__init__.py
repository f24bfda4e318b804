"""Persistence: tables, migrations, bulk loading and the unit of work.

Only :mod:`trimtab.service` uses this package; the core never does.
"""
