"""What makes an HMAC secret unacceptable: empty, short, or copied from an example."""

from __future__ import annotations

from onewatch.errors import ConfigurationError

MIN_SECRET_BYTES = 32

#: Secrets from tutorials, templates and docs (compared case-insensitively).
KNOWN_EXAMPLE_SECRETS = frozenset(
    {
        "secret",
        "changeme",
        "change-me",
        "your-256-bit-secret",
        "your-secret-key",
        "supersecret",
        "mysecret",
        "jwt-secret",
        "onewatch",
        "0123456789abcdef0123456789abcdef",
        "00000000000000000000000000000000",
        "this-is-a-very-long-secret-key-for-jwt",
        "change-me-to-a-long-random-secret-string",
        "a-string-secret-at-least-256-bits-long",
        "replace-me-with-a-long-random-secret-value",
    }
)
#: Words that only a placeholder contains.
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "example", "your-", "replace-me")
MIN_DISTINCT_CHARACTERS = 8


def check_hmac_secret(secret: str, *, field: str) -> None:
    """Raise ``ConfigurationError`` naming ``field`` unless ``secret`` is fit to sign."""
    text = secret.strip()
    if not text:
        raise ConfigurationError("empty secret", field=field)
    if len(text.encode()) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"secret is {len(text.encode())} bytes, at least {MIN_SECRET_BYTES} are needed",
            field=field,
        )
    lowered = text.lower()
    if lowered in KNOWN_EXAMPLE_SECRETS or any(word in lowered for word in PLACEHOLDER_WORDS):
        raise ConfigurationError("secret is a known example value; generate one", field=field)
    if len(set(text)) < MIN_DISTINCT_CHARACTERS:
        raise ConfigurationError("secret is too repetitive to be random", field=field)
