"""How a connection to the SMTP server is secured."""

from __future__ import annotations

from enum import StrEnum


class Security(StrEnum):
    """Connection security; the values are stored in the database and used as item data."""

    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"

    @property
    def label(self) -> str:
        return {
            Security.SSL: "SSL/TLS",
            Security.STARTTLS: "STARTTLS",
            Security.NONE: "None (not encrypted)",
        }[self]

    @property
    def usual_port(self) -> int:
        return {Security.SSL: 465, Security.STARTTLS: 587, Security.NONE: 25}[self]
