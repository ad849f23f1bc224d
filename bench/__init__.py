"""The company-sized benchmark (see run.py)."""
