"""Provider presets: complete, sourced, and found from the address the admin types."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from mailsettings_desktop.core.presets import (
    CUSTOM_KEY,
    ProviderPreset,
    default_presets,
    preset_by_key,
    preset_for_address,
)
from mailsettings_desktop.core.security import Security

# The providers the main-job issue names; "Other server" is the UI's own entry.
REQUIRED_KEYS = {"gmail", "outlook", "microsoft365", "yahoo", "icloud", "yandex", "mailru", "zoho"}


def presets() -> tuple[ProviderPreset, ...]:
    return tuple(p for p in default_presets() if p.key != CUSTOM_KEY)


def test_the_required_providers_are_there_once() -> None:
    keys = [p.key for p in default_presets()]
    assert len(keys) == len(set(keys))
    assert set(keys) >= REQUIRED_KEYS


@pytest.mark.parametrize("preset", presets(), ids=lambda p: p.key)
def test_every_preset_is_complete_and_sourced(preset: ProviderPreset) -> None:
    assert preset.name.strip()
    assert preset.host.strip() == preset.host
    assert "." in preset.host
    assert 1 <= preset.port <= 65535
    assert isinstance(preset.security, Security)
    assert preset.sources, "every value needs the page it was taken from"
    for url in preset.sources.values():
        parsed = urlparse(url)
        assert parsed.scheme in {"http", "https"} and parsed.netloc, url


def test_no_domain_belongs_to_two_presets() -> None:
    domains = [d for p in presets() for d in p.domains]
    assert len(domains) == len(set(domains))
    assert all(d == d.lower().strip() for d in domains)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("someone@gmail.com", "gmail"),
        ("someone@googlemail.com", "gmail"),
        ("someone@outlook.com", "outlook"),
        ("someone@hotmail.com", "outlook"),
        ("someone@yandex.ru", "yandex"),
        ("someone@ya.ru", "yandex"),
        ("someone@mail.ru", "mailru"),
        ("someone@bk.ru", "mailru"),
        ("someone@icloud.com", "icloud"),
        ("someone@me.com", "icloud"),
        # What an admin may really type: capitals, spaces, a trailing dot.
        ("  Someone.Else@GMail.COM ", "gmail"),
        ("someone@icloud.com.", "icloud"),
        ("a@b@hotmail.com", "outlook"),
    ],
)
def test_known_domains_select_their_preset(address: str, key: str) -> None:
    preset = preset_for_address(address)
    assert preset is not None
    assert preset.key == key
    assert preset_by_key(key) == preset


@pytest.mark.parametrize(
    "address",
    [
        "someone@example.com",
        "someone@company.de",
        "someone@notgmail.com",
        "someone@gmail.com.example.org",
        "someone@mail.gmail.com",
        "gmail.com",
        "someone@",
        "",
    ],
)
def test_unknown_domains_select_nothing(address: str) -> None:
    assert preset_for_address(address) is None


def test_an_unknown_key_finds_nothing() -> None:
    assert preset_by_key("no-such-provider") is None
