"""The certificate authorities every outgoing TLS connection of the program trusts."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

EXTRA_CA_ENV = "MAILSETTINGS_EXTRA_CA_FILE"


def tls_context(extra_ca_file: Path | None = None) -> ssl.SSLContext:
    """System authorities, plus those in `MAILSETTINGS_EXTRA_CA_FILE` or `extra_ca_file`."""
    context = ssl.create_default_context()
    extra = extra_ca_file or os.environ.get(EXTRA_CA_ENV)
    if extra:
        context.load_verify_locations(cafile=str(extra))
    return context
