"""mailsettings-desktop: configure employees' external email addresses, offline."""

__version__ = "0.1.0"
APP_NAME = "mailsettings-desktop"
APP_DISPLAY_NAME = "Mail Settings"
ORG_NAME = "mailsettings"
