"""How it is sent: HTTP client, webhook and GraphQL senders, signing, target policy."""
