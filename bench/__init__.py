"""Onewatch's benchmarks, side by side with what a Python team would use instead.

Run ``python -m bench --help``. Every scenario writes ``bench/results/<name>.json``;
``BENCHMARKS.md`` tables and the PNG plots are generated from those files only.
"""
