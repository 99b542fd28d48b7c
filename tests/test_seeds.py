"""Keras' seed semantics, per backend, and thread safety of one shared initializer."""

from __future__ import annotations

import json
import threading

import numpy as np

import vscale
from tests._helpers import assert_same_values

SHAPE = (16, 8)


def call(init, backend, dtype="float32", shape=SHAPE):
    return backend.to_numpy(init(shape, dtype, xp=backend.module, device=backend.device))


def native(init, backend, dtype="float32", shape=SHAPE):
    return init(shape, dtype, xp=backend.module, device=backend.device)


def test_seeded_calls_differ_but_sequences_repeat(backend):
    first = vscale.VarianceScaling(seed=42)
    second = vscale.VarianceScaling(seed=42)
    a1, a2 = native(first, backend), native(first, backend)
    b1, b2 = native(second, backend), native(second, backend)
    assert not np.array_equal(backend.to_numpy(a1), backend.to_numpy(a2))
    assert_same_values(a1, b1, backend, "float32")
    assert_same_values(a2, b2, backend, "float32")


def test_different_seeds_differ(backend):
    a = call(vscale.VarianceScaling(seed=1), backend)
    b = call(vscale.VarianceScaling(seed=2), backend)
    assert not np.array_equal(a, b)


def test_from_config_restarts_the_sequence(backend):
    init = vscale.VarianceScaling(0.5, "fan_avg", "uniform", seed=3)
    first = native(init, backend)
    call(init, backend)
    clone = vscale.VarianceScaling.from_config(json.loads(json.dumps(init.get_config())))
    assert_same_values(native(clone, backend), first, backend, "float32")


def test_unseeded_calls_differ(backend):
    init = vscale.VarianceScaling()
    assert not np.array_equal(call(init, backend), call(init, backend))
    assert not np.array_equal(call(vscale.VarianceScaling(), backend), call(vscale.VarianceScaling(), backend))


THREADS, CALLS_PER_THREAD = 8, 200


def test_threads_never_share_a_stream(backend):
    """8 threads x 200 calls on one seeded initializer give exactly the 1 600 results of 1 600
    sequential calls: no two calls share a stream, and none is skipped or repeated."""
    shared = vscale.VarianceScaling(seed=9)
    results: list[bytes] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work():
        start.wait()  # all threads call at once
        for _ in range(CALLS_PER_THREAD):
            values = call(shared, backend, shape=(32,))
            with lock:
                results.append(values.tobytes())

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = THREADS * CALLS_PER_THREAD
    sequential = vscale.VarianceScaling(seed=9)
    expected = [call(sequential, backend, shape=(32,)).tobytes() for _ in range(total)]
    assert len(results) == total
    assert len(set(results)) == total, "two calls shared a stream"
    assert set(results) == set(expected)
