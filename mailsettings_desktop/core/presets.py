"""Provider presets (Gmail, Microsoft 365, ...) loaded from `resources/providers.json`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from mailsettings_desktop.core.oauth.providers import (
    PASSWORD_ONLY,
    AuthOptions,
    auth_options_from_json,
)
from mailsettings_desktop.core.paths import resources_dir
from mailsettings_desktop.core.security import Security

log = logging.getLogger(__name__)

CUSTOM_KEY = "custom"


@dataclass(frozen=True)
class ProviderPreset:
    """Server settings of one mail provider, with the pages they were taken from."""

    key: str
    name: str
    host: str
    port: int
    security: Security
    domains: tuple[str, ...] = ()
    note: str = ""
    app_password_hint: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    # Sign-in methods the provider supports, the default one, and its OAuth data.
    auth: AuthOptions = PASSWORD_ONLY


def load_presets(path: Path | None = None) -> tuple[ProviderPreset, ...]:
    """Read the presets file; the order of the file is the order shown to the admin."""
    path = path or resources_dir() / "providers.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    presets = []
    for item in raw["providers"]:
        presets.append(
            ProviderPreset(
                key=item["key"],
                name=item["name"],
                host=item["host"],
                port=int(item["port"]),
                security=Security(item["security"]),
                domains=tuple(d.lower() for d in item.get("domains", ())),
                note=item.get("note", ""),
                app_password_hint=item.get("app_password_hint", ""),
                sources=dict(item.get("sources", {})),
                auth=auth_options_from_json(item.get("oauth")),
            )
        )
    log.debug("loaded %d provider presets from %s", len(presets), path)
    return tuple(presets)


@lru_cache(maxsize=1)
def default_presets() -> tuple[ProviderPreset, ...]:
    return load_presets()


def preset_by_key(
    key: str, presets: tuple[ProviderPreset, ...] | None = None
) -> ProviderPreset | None:
    for preset in presets if presets is not None else default_presets():
        if preset.key == key:
            return preset
    return None


def preset_for_address(
    address: str, presets: tuple[ProviderPreset, ...] | None = None
) -> ProviderPreset | None:
    """The preset whose domain list holds the address's domain, if any."""
    _, at, domain = address.strip().rpartition("@")
    if not at or not domain:
        return None
    domain = domain.lower().rstrip(".")
    for preset in presets if presets is not None else default_presets():
        if domain in preset.domains:
            return preset
    return None
