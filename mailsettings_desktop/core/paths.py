"""Where the program keeps its database, its logs and its bundled resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from mailsettings_desktop import APP_NAME, ORG_NAME

RESOURCES_ENV = "MAILSETTINGS_RESOURCES"


def data_dir() -> Path:
    """The per-user folder for the database (created on demand)."""
    return Path(platformdirs.user_data_dir(APP_NAME, ORG_NAME))


def log_dir() -> Path:
    """The per-user folder for the rotating log file."""
    return Path(platformdirs.user_log_dir(APP_NAME, ORG_NAME))


def default_db_path() -> Path:
    return data_dir() / "mailsettings.sqlite3"


def resources_dir() -> Path:
    """The `resources/` folder: beside the package in a checkout, inside a frozen bundle."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"
