"""Use cases of the service: keyword-only functions over a :class:`~trimtab.store.uow.UnitOfWork`.

Each function validates its input, does its work in the unit of work's transaction, appends
to the audit log for every state change and commits once. Errors come from
:mod:`trimtab.errors`; nothing is partially applied when one is raised.
"""
