"""What the windows share: the database, the secret store, the check runner, the presets."""

from __future__ import annotations

from dataclasses import dataclass

from mailsettings_desktop.core.presets import ProviderPreset
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.check_runner import CheckRunner


@dataclass
class AppContext:
    db: Database
    secrets: SecretStore
    runner: CheckRunner
    presets: tuple[ProviderPreset, ...]
