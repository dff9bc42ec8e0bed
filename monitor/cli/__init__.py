from monitor.cli.main import cli, main

__all__ = ["cli", "main"]
