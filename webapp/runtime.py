"""The running app's engine and directory, as request code reaches them."""
from __future__ import annotations

from flask import current_app

from engine.directory import Directory
from engine.service import WorkflowEngine


def engine() -> WorkflowEngine:
    return current_app.extensions["aftersales.engine"]


def directory() -> Directory:
    return current_app.extensions["aftersales.directory"]
