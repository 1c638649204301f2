"""The pure core: no I/O, no framework, no clock of its own."""
