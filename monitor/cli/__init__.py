import sys

import monitor.cli.ending  # noqa: F401 - first: its exit function must be the first registered

# `import httpx` also imports httpx's own command line, and with it rich and pygments, which
# are installed here: about 40 ms on every `monitor` command, which never runs that command
# line (encode/httpx#3547). A None entry makes that one import fail, and httpx falls back to
# a stub `httpx.main`; nothing else of httpx changes.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from monitor.fetch.http import preload_tls_context  # noqa: E402 - after the entry above

# The CA bundle loads while the rest of the command line is imported (see the function).
preload_tls_context()

from monitor.cli.main import cli, main  # noqa: E402 - after the entry above

__all__ = ["cli", "main"]
