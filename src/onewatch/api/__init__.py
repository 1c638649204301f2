"""The HTTP API: the only package that imports the web framework."""
