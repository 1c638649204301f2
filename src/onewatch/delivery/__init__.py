"""How a delivery is sent: request building, the HTTP client, headers, signing, policy."""
