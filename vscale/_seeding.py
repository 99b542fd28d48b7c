"""Per-call seed streams, Keras' seed semantics made thread-safe.

A seeded initializer hands call ``i`` the stream ``SeedSequence(seed, spawn_key=(i,))``:
each call differs, two initializers with one seed give the same sequence, and a lock
makes sure that concurrent calls never get the same ``i``.  ``seed=None`` draws fresh
OS entropy on every call.  Later streams (counter-based, portable) slot in here: an
adapter only ever sees the ``SeedSequence`` for its call.
"""

from __future__ import annotations

import threading

import numpy as np


class SeedStream:
    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self._calls = 0
        self._lock = threading.Lock()

    def next(self) -> np.random.SeedSequence:
        """The seed for the next call; never the same one twice for a seeded stream."""
        if self.seed is None:
            return np.random.SeedSequence()
        with self._lock:
            call = self._calls
            self._calls += 1
        return np.random.SeedSequence(self.seed, spawn_key=(call,))
