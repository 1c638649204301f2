"""The ``onewatch`` command line."""
