"""One call that refuses to start a node whose trust settings are unsafe or broken."""

from __future__ import annotations

from onewatch.delivery.target_policy import policy_from_settings
from onewatch.security.secrets_crypto import keyring_from_settings
from onewatch.security.tokens import check_settings
from onewatch.settings import Settings


def check_trust_settings(settings: Settings) -> None:
    """Auth, outbound policy and secret keys; raises ``ConfigurationError`` naming the field.

    Run it before serving, so a bad value stops the start instead of failing the first
    request or delivery. It creates the embedded default's key files when they are absent.
    """
    check_settings(settings)
    policy_from_settings(settings)
    keyring_from_settings(settings)
