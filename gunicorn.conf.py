"""gunicorn's settings for Portal's web server. gunicorn reads this file from the directory it starts in (the
checkout, as `make serve`, bench/run and the live test servers start it); from elsewhere, pass `-c` with its path.

The app is loaded once, in the master, and each worker is forked from it (`preload_app`), so a worker starts with
the libraries and the app already in memory, and the pages that only loading touched (module initialisation,
import-time code in the shared libraries) are never brought into a worker at all: about 8 MB less resident in
every worker (bench/README.md, "worker MB"). What the master made is then frozen (`gc.freeze`): the collector of a
worker never walks, nor writes to, the hundreds of thousands of objects the libraries and the app made at import,
so it does not copy the master's pages into the worker either, and each collection is that much shorter.

With the app preloaded, `kill -HUP` restarts the workers but not the code: deploy new code with a restart (or
`kill -USR2` for gunicorn's zero-downtime upgrade). Run the server with `PYTHONOPTIMIZE=2` (README, "Running in
production").
"""

from __future__ import annotations

import gc
import sys

preload_app = True


def when_ready(server) -> None:
    """The app is loaded and no worker is forked yet: freeze what loading made (the garbage collected first)."""
    gc.collect()
    gc.freeze()


def post_fork(server, worker) -> None:
    """In the new worker: database connections the master's app may hold stay the master's."""
    if "portal.db" in sys.modules:  # (not for an app other than Portal's, such as bench/ceiling.py)
        sys.modules["portal.db"].forget_inherited_connections()
