"""Typed OAuth2 failures, each carrying the diagnosis category that explains it.

The GUI never parses messages: it reads `category` (and `explanation`) from the error,
and `SignInAgainError` marks an address as "sign in again".
"""

from __future__ import annotations

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.diagnosis import (
    Explanation,
    category_for_oauth_error,
    explanation_for,
)


class OAuthError(Exception):
    """An OAuth2 step failed. `error` and `description` are the identity provider's own
    words (for Details); the message never contains a token or secret."""

    def __init__(
        self,
        category: Category,
        error: str = "",
        description: str = "",
        *,
        provider: str = "",
        status: int | None = None,
    ) -> None:
        self.category = category
        self.error = error
        self.description = description
        self.provider = provider
        self.status = status
        super().__init__(self.detail())

    def detail(self) -> str:
        """The technical text for Details and the log."""
        parts = [self.category.value]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error:
            parts.append(self.error)
        text = ", ".join(parts)
        return f"{text}: {self.description}" if self.description else text

    def explanation(self, preset_key: str = "custom") -> Explanation:
        return explanation_for(self.category, preset_key)


class SignInAgainError(OAuthError):
    """The stored grant is gone, expired or revoked: the employee must sign in again."""


class SignInCancelledError(OAuthError):
    """The admin cancelled an interactive sign-in."""

    def __init__(self) -> None:
        super().__init__(Category.CANCELLED, description="the sign-in was cancelled")


def error_from_response(
    error: str, description: str = "", *, provider: str = "", status: int | None = None
) -> OAuthError:
    """The typed error for an identity provider's error answer, classified by the table."""
    category = category_for_oauth_error(error, description, provider)
    kind = SignInAgainError if category is Category.OAUTH_SIGN_IN_AGAIN else OAuthError
    return kind(category, error, description, provider=provider, status=status)


def sign_in_again(description: str, provider: str = "") -> SignInAgainError:
    return SignInAgainError(Category.OAUTH_SIGN_IN_AGAIN, description=description,
                            provider=provider)
