"""Who may: JWT verification, token minting, secrets."""
