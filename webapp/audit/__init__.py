"""Auditors' area (read-only): instances with the path taken, the audit timeline, SLA reports, exports,
the sign-in log."""
from __future__ import annotations

from webapp.audit import instance_page, instances, logins, reports  # noqa: F401  (routes register on the blueprint)
from webapp.audit.area import blueprint  # noqa: F401  (registered by create_app)
