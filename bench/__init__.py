"""pe-insight benchmarks: each measures pe-insight and its anchor side by side.

Run `python -m bench` (or `make bench`) from the repository root; see bench/README.md.
"""
