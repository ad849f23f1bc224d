"""What the windows share: the database, the secret store, the check runner, the presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# Names for type checking only: importing them would load SQLAlchemy and the keyring
# before the main window's first paint.
if TYPE_CHECKING:
    from mailsettings_desktop.core.oauth import TokenService
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
    # Created on first use by `ui.oauth_support.token_service` (it loads authlib).
    tokens: TokenService | None = None
