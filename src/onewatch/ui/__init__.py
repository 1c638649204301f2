"""The dashboard: server-rendered pages under /ui."""
