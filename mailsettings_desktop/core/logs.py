"""Logging to a rotating file in the platform's log folder, with secrets redacted."""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path

from mailsettings_desktop.core.paths import log_dir

LOG_FILE_NAME = "mailsettings.log"
_REDACTED = "***"


class SecretRedactor(logging.Filter):
    """Replaces every secret it has been told about wherever it appears in a record.

    No code logs passwords on purpose; this catches the accident (a password echoed in a
    server reply or an exception message) before it reaches the file.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def remember(self, secret: str) -> None:
        if len(secret) >= 3:
            with self._lock:
                self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = tuple(self._secrets)
        if not secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        exc_text = record.exc_text or ""
        for secret in secrets:
            message = message.replace(secret, _REDACTED)
            exc_text = exc_text.replace(secret, _REDACTED)
        record.msg, record.args = message, None
        if record.exc_text:
            record.exc_text = exc_text
        return True


redactor = SecretRedactor()


def setup_logging(directory: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the program's log to a rotating file; returns the file's path."""
    directory = directory or log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE_NAME
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.setLevel(level)
    for existing in list(root.handlers):
        if getattr(existing, "_mailsettings", False):
            root.removeHandler(existing)
            existing.close()
    handler._mailsettings = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return path
