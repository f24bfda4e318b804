"""Read services for the API and the web pages: typed, paged, firm-scoped, role-checked.

Every function takes the unit of work and the acting user first and keyword arguments after;
it checks the user's role (viewer; admin for the audit trail), reads only the unit of work's
firm and returns frozen dataclasses whose docstrings give their units. Lists come as a
:class:`~trimtab.service.paging.Page` of at most ``limit`` items (1 to 1000, default 50) with
a ``next_page_token`` for the next page: keyset pages, filtered and sorted in SQL, so rows
added meanwhile never shift a page. A record of another firm is simply not found
(:class:`~trimtab.errors.NotFoundError`).

========================  =========================================================
the queue                 :func:`queue_page`, :func:`queue_count`, :func:`queue_account_ids`
requests                  :func:`requests_page`
accounts and households   :func:`accounts_page`, :func:`households_page`, :func:`household_accounts`
models                    :func:`models_page`, :func:`model_detail`
evaluations               :func:`evaluations_page`, :func:`evaluation_detail`
orders                    :func:`orders_page`, :func:`order_dates`
the audit trail (admin)   :func:`audit_page`
========================  =========================================================
"""

from __future__ import annotations

from trimtab.service._listing_activity import (
    AuditEntry,
    EvaluationRun,
    OrderLine,
    RequestSummary,
    audit_page,
    evaluation_detail,
    evaluations_page,
    order_dates,
    orders_page,
    requests_page,
)
from trimtab.service._listing_book import (
    AccountSummary,
    HouseholdSummary,
    ModelDetail,
    ModelLine,
    ModelSummary,
    ModelVersion,
    accounts_page,
    household_accounts,
    households_page,
    model_detail,
    models_page,
)
from trimtab.service._listing_queue import (
    QUEUE_SORTS,
    QueueItem,
    queue_account_ids,
    queue_count,
    queue_page,
)
from trimtab.service.paging import DEFAULT_LIMIT, MAX_LIMIT, Page

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "QUEUE_SORTS",
    "AccountSummary",
    "AuditEntry",
    "EvaluationRun",
    "HouseholdSummary",
    "ModelDetail",
    "ModelLine",
    "ModelSummary",
    "ModelVersion",
    "OrderLine",
    "Page",
    "QueueItem",
    "RequestSummary",
    "accounts_page",
    "audit_page",
    "evaluation_detail",
    "evaluations_page",
    "household_accounts",
    "households_page",
    "model_detail",
    "models_page",
    "order_dates",
    "orders_page",
    "queue_account_ids",
    "queue_count",
    "queue_page",
    "requests_page",
]
