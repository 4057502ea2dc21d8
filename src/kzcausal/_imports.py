"""Third-party imports whose side effects kzcausal does not pass on to its users."""

from __future__ import annotations

import logging
from types import ModuleType


def pyfixest() -> ModuleType:
    """``pyfixest``, with the root logger left as it was.

    pyfixest (0.60 here) calls ``logging.basicConfig(level=logging.INFO)`` when
    ``pyfixest.estimation`` is first imported: from then on every library's INFO messages print on
    stderr for the rest of the session (in ``kzcausal report``, arviz's "arviz_base not installed").
    Where the caller had set up logging, ``basicConfig`` did nothing and nothing changes here either.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import pyfixest as module
        import pyfixest.estimation  # noqa: F401  (the module that configures logging)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return module
