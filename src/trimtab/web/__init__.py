"""HTTP entry points: the REST API (``/api/v1``) and the web app's pages."""

from __future__ import annotations

from trimtab.web.app import create_app

__all__ = ["create_app"]
