"""Reading a server certificate into what an admin needs to decide whether to trust it."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from mailsettings_desktop.core.check_result import CertificateInfo

log = logging.getLogger(__name__)


def sha256_fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint as colon-separated upper-case hex, as browsers show it."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def same_fingerprint(first: str, second: str) -> bool:
    """Compare fingerprints however they were typed or pasted (colons, spaces, case)."""

    def bare(value: str) -> str:
        return "".join(ch for ch in value if ch.isalnum()).upper()

    return bare(first) == bare(second)


def certificate_info(der: bytes) -> CertificateInfo:
    """Subject, issuer, validity, fingerprint and names of a DER certificate.

    A certificate the parser cannot read still gets its fingerprint, because the
    fingerprint is what the admin compares and pins.
    """
    fingerprint = sha256_fingerprint(der)
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        log.info("server certificate could not be parsed; fingerprint %s", fingerprint)
        return CertificateInfo("(unreadable)", "(unreadable)", "", "", fingerprint)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string() or "(empty)",
        issuer=cert.issuer.rfc4514_string() or "(empty)",
        not_before=_utc_text(cert.not_valid_before_utc),
        not_after=_utc_text(cert.not_valid_after_utc),
        sha256=fingerprint,
        names=_names(cert),
    )


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return ()
    alt_names = extension.value
    if not isinstance(alt_names, x509.SubjectAlternativeName):
        return ()
    dns = alt_names.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in alt_names.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)
