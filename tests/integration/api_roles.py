"""The lowest role allowed on each route of the API: (method, path template) -> role.

Roles rank viewer < operator < approver < admin (docs/web.md, "Who may do what"); a role
below the one named here is refused (403). Every route of the OpenAPI document must be here
(``test_api_roles.py`` checks it), so a new route cannot be added without saying who may
call it. Tests that enumerate the document (isolation between firms, roles) read this table.
"""

from __future__ import annotations

API = "/api/v1"

ROLE: dict[tuple[str, str], str] = {
    # who is calling
    ("GET", f"{API}/me"): "viewer",
    ("GET", f"{API}/me/session"): "viewer",
    # API keys and users
    ("GET", f"{API}/api-keys"): "admin",
    ("POST", f"{API}/api-keys"): "admin",
    ("DELETE", f"{API}/api-keys/{{key_id}}"): "admin",
    ("GET", f"{API}/users"): "admin",
    ("POST", f"{API}/users"): "admin",
    # anyone sets their own password (an admin anyone's); an API key's user has none
    ("PUT", f"{API}/users/{{user_id}}/password"): "viewer",
    # Accounts to Rebalance
    ("GET", f"{API}/queue"): "viewer",
    ("GET", f"{API}/queue/count"): "viewer",
    # requests
    ("POST", f"{API}/requests"): "operator",
    ("GET", f"{API}/requests"): "viewer",
    ("GET", f"{API}/requests/{{request_id}}"): "viewer",
    ("GET", f"{API}/requests/{{request_id}}/proposals"): "viewer",
    ("GET", f"{API}/requests/{{request_id}}/replay"): "viewer",
    ("GET", f"{API}/requests/{{request_id}}/record"): "viewer",
    ("GET", f"{API}/requests/{{request_id}}/memorandum"): "viewer",
    ("POST", f"{API}/requests/{{request_id}}/approve"): "approver",
    ("POST", f"{API}/requests/{{request_id}}/cancel"): "operator",
    ("POST", f"{API}/requests/{{request_id}}/resubmit"): "operator",
    # accounts
    ("GET", f"{API}/accounts"): "viewer",
    ("GET", f"{API}/accounts/{{account_id}}"): "viewer",
    ("PATCH", f"{API}/accounts/{{account_id}}"): "operator",
    ("GET", f"{API}/accounts/{{account_id}}/lots"): "viewer",
    ("GET", f"{API}/accounts/{{account_id}}/rebalancing-history"): "viewer",
    # restrictions and locks
    ("GET", f"{API}/accounts/{{account_id}}/restrictions"): "viewer",
    ("POST", f"{API}/accounts/{{account_id}}/restrictions"): "operator",
    ("GET", f"{API}/accounts/{{account_id}}/restrictions/{{restriction_id}}"): "viewer",
    ("PATCH", f"{API}/accounts/{{account_id}}/restrictions/{{restriction_id}}"): "operator",
    ("DELETE", f"{API}/accounts/{{account_id}}/restrictions/{{restriction_id}}"): "operator",
    ("GET", f"{API}/accounts/{{account_id}}/locks"): "viewer",
    ("POST", f"{API}/accounts/{{account_id}}/locks"): "operator",
    ("DELETE", f"{API}/accounts/{{account_id}}/locks/{{lock_id}}"): "operator",
    # households and models
    ("GET", f"{API}/households"): "viewer",
    ("GET", f"{API}/households/{{household_id}}"): "viewer",
    ("GET", f"{API}/models"): "viewer",
    ("GET", f"{API}/models/{{model_id}}"): "viewer",
    # the what-if: a computation that stores nothing
    ("POST", f"{API}/what-if"): "viewer",
    # evaluations
    ("GET", f"{API}/evaluations"): "viewer",
    ("POST", f"{API}/evaluations"): "operator",
    ("GET", f"{API}/evaluations/{{as_of}}"): "viewer",
    # orders and their exports
    ("GET", f"{API}/orders"): "viewer",
    ("GET", f"{API}/orders/dates"): "viewer",
    ("POST", f"{API}/orders/exports"): "operator",
    ("GET", f"{API}/orders/exports/{{export_id}}"): "operator",
    # the audit trail
    ("GET", f"{API}/audit"): "admin",
    ("GET", f"{API}/audit/verify"): "admin",
}
