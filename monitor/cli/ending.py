"""How the `monitor` process ends: without the interpreter's teardown, once all is closed.

After a pass over 1,000 sources the interpreter spends 40 to 50 ms, alone on one core, taking
apart every module and object it holds before the process can end; the kernel takes the memory
back at once either way. So the command's exit status is noted when it ends, and the exit
function registered here, the first one, ends the process as the last one: after the threads
were joined and every exit function registered later ran (the log's flush, the process pool's,
the temporary files'), and once standard output and error are flushed.

It must be imported before anything that registers an exit function (`monitor.cli` imports it
first): one registered before it would not run.
"""

from __future__ import annotations

import atexit
import os
import sys

# Empty until `main` has ended with a status: importing `monitor.cli` (the tests do, and
# call the command in-process) changes nothing.
_status: list[int] = []


def note(code: object) -> None:
    """Remember the status `SystemExit(code)` ends the process with. A message (a string
    code) is the interpreter's to print: the process then ends the usual way."""
    if code is None or isinstance(code, int):
        _status[:] = [int(code or 0)]


def _end() -> None:
    if not _status:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        # a closed pipe: the interpreter reports it, with its own status
        return
    os._exit(_status[0])


atexit.register(_end)
