"""The version of mesokg (one place: the package, the CLI and the knowledge-base fingerprint read it)."""

__version__ = "0.1.0"
