"""One module per scenario; each has ``run(ctx) -> Path`` writing its results file."""
