"""monitor: watch paywalled article pages and report every change, with word-level diffs."""

__version__ = "0.1.0"
