"""A Dask worker plugin for the cluster tests: files named ``poison*`` end their worker (as a
decoder crash would), every other file takes ``delay`` seconds more (so a test can act mid-scan).

Registered plugins are also set up on workers that join later, so a worker restarted by its nanny
after a crash still has it. Only the test cluster's workers are touched; ``teardown`` undoes it.
"""

from __future__ import annotations

import os
import time

from distributed import WorkerPlugin

_TARGETS = ("ocsea_match.scanning", "ocsea_match.scanning.tree")


class PoisonAndDelay(WorkerPlugin):
    name = "ocsea-test-poison"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.saved: dict[str, object] = {}

    def setup(self, worker: object) -> None:
        import importlib

        delay = self.delay
        for name in _TARGETS:
            module = importlib.import_module(name)
            original = module.hash_file
            self.saved[name] = original

            def wrapped(path, *args, _original=original, **kwargs):
                if os.path.basename(os.fspath(path)).startswith("poison"):
                    os._exit(3)  # the worker dies the hard way, as in crashy.square_or_die
                time.sleep(delay)
                return _original(path, *args, **kwargs)

            module.hash_file = wrapped

    def teardown(self, worker: object) -> None:
        import importlib

        for name, original in self.saved.items():
            importlib.import_module(name).hash_file = original
