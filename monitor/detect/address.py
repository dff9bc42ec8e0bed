"""What a page's address says of it: whether it is its site's home page.

Pure, and light enough for the parent of a pass to import (no HTML parser): a redirect is
judged there (`service.observe.redirected_away`), a page's own canonical address in the reading
(`extract`), and both must agree on what a home page's address is.
"""

from __future__ import annotations

import re

# The path of a site's home page, its leading and trailing slashes aside: the root, or the
# root's index file by the names servers and CMSs give it ("/index.html", "/default.aspx",
# "/home").
_HOME_PATH = re.compile(r"(?i)(?:(?:index|default|home)(?:\.\w+)?)?")


def is_home_path(path: str) -> bool:
    """Whether `path` (an address's path, without its query) is that of a site's home page."""
    return _HOME_PATH.fullmatch(path.strip("/")) is not None
