"""The public ``VarianceScaling`` initializer (``tf.keras.initializers.VarianceScaling``)."""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

from .. import streams
from ..backends import get_backend
from ..backends.compat import device as device_of
from ..core.complex import make_complex_transform
from ..core.fans import Layout, fans_of
from ..core.portable import portable_transform
from ..core.precision import finfo, is_complex, itemsize, largest_at_most, working_name
from ..core.transforms import NORMAL_REACH, SAMPLED_NORMAL_REACH, TRUNCATED_STD, Kind, make_transform
from ..engine import lazy
from ..engine.generate import generate
from ..engine.plan import plan as plan_call
from ..kernels.host import settings as environment_settings
from ..streams.keys import seeded_key
from .config import floatx
from .dtypes import namespace_of_dtype, resolve_dtype
from .fill import fill_target
from .validation import (
    is_dask_namespace,
    short_repr,
    validate_allocation,
    validate_chunks,
    validate_dask_arguments,
    validate_distribution,
    validate_fan_arguments,
    validate_mode,
    validate_prng,
    validate_region,
    validate_scale,
    validate_seed,
    validate_shape,
    validate_threefry_seed,
)

ArrayT = TypeVar("ArrayT")
Mode = Literal["fan_in", "fan_out", "fan_avg"]
Prng = Literal["native", "threefry"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform", "normal"]


class Parameters(NamedTuple):
    """What a :class:`VarianceScaling` draws for one shape (see :meth:`VarianceScaling.parameters`).

    ``stddev`` is the standard deviation of the distribution (after truncation, if any);
    ``sigma`` the deviation of the normal before truncation (``stddev / 0.8796...``),
    equal to ``stddev`` for the other distributions; ``bound`` the half-width of the
    support (``2 * sigma``, ``limit``, or ``inf`` for the untruncated normal).
    """

    fan_in: int
    fan_out: int
    n: float
    stddev: float
    sigma: float
    bound: float


class VarianceScaling:
    """Initializer that adapts its scale to the shape of the weight tensor.

    Draws from a distribution with mean 0 and standard deviation ``sqrt(scale / n)``,
    where ``n`` is ``max(1, fan)`` for the fan that ``mode`` names (``fan_avg`` averages
    ``fan_in`` and ``fan_out``).  ``"truncated_normal"`` (alias ``"normal"``) is a normal
    truncated at two of its standard deviations and rescaled so that the deviation after
    truncation is ``sqrt(scale / n)``; ``"untruncated_normal"`` is ``N(0, scale / n)``;
    ``"uniform"`` is ``U[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``.

    Parameters
    ----------
    scale : float, default 1.0
        Positive, finite scaling factor.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
    distribution : {"truncated_normal", "untruncated_normal", "uniform"}, default "truncated_normal"
        Case-insensitive; ``"normal"`` means ``"truncated_normal"``, as in Keras.
    seed : int or None, default None
        With an integer, each call gives new values, and initializers built with the same
        seed give the same sequence of values for the same sequence of calls (shapes,
        dtypes, backend).  ``None``: each call takes its key from the framework's global
        generator (``torch.manual_seed``, ``numpy.random.seed`` and CuPy's seed govern
        it; JAX, which has none, takes fresh entropy), so unseeded calls still differ.
    input_axes, output_axes : sequence of int, optional
        Keras 3's arguments: when both are given, ``fan_in``/``fan_out`` are the products
        of the sizes of these axes (see :func:`vscale.compute_fans`).
    layout : {"keras", "torch", "torch_transposed"}, optional
        Where the channels are: ``(*kernel, in, out)``, PyTorch's ``(out, in, *kernel)``
        or PyTorch's transposed-convolution ``(in, out, *kernel)``.  Unspecified, it is
        Keras' for calls with a shape and for every array filled in place, except a torch
        tensor filled in place (:meth:`fill_`), whose fans are read in PyTorch's layout,
        as ``torch.nn.init`` reads them.
    groups : int, default 1
        Groups of a grouped convolution (the channel count for a depthwise one).
    prng : {"native", "threefry"}, default "native"
        Where the random bits come from.  ``"native"``: each framework's own generator
        (fast; values differ between frameworks and devices).  ``"threefry"``: JAX's
        Threefry-2x32 stream and constructions, computed with correctly rounded
        operations only, so that a seed gives the same bits on every backend and device,
        ``region=`` works everywhere, and call 0 reproduces
        ``jax.nn.initializers.variance_scaling`` with ``jax.random.key(seed)``
        (see the reproducibility page).

    Notes
    -----
    Complex dtypes (``complex64``, ``complex128``) give rotation-invariant values with
    ``E|w|^2 = scale / n``; see :mod:`vscale.core.complex` for the exact definition.
    ``get_config`` leaves out ``input_axes``, ``output_axes``, ``layout`` and ``groups``
    while they have their default values, so that such configs load in Keras 2 and 3.

    Initializers pickle and deep-copy (``torch.save`` of a module that holds one too); a
    copy continues the original's sequence of calls from where the copy was made, so a
    seeded copy and its original give the same values for their next calls.

    Examples
    --------
    >>> import vscale
    >>> init = vscale.VarianceScaling(scale=0.1, mode="fan_in", distribution="uniform", seed=0)
    >>> w = init((2, 2))
    >>> w.shape, w.dtype
    ((2, 2), dtype('float32'))
    >>> init.get_config()
    {'scale': 0.1, 'mode': 'fan_in', 'distribution': 'uniform', 'seed': 0}
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: Mode = "fan_in",
        distribution: Distribution = "truncated_normal",
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
        *,
        layout: Layout | None = None,
        groups: int = 1,
        prng: Prng = "native",
    ) -> None:
        self.scale = validate_scale(scale)
        self.mode = validate_mode(mode)
        self.distribution = validate_distribution(distribution)
        self.seed = validate_seed(seed)
        self.prng = validate_prng(prng)
        if self.prng == "threefry":
            validate_threefry_seed(self.seed)
        self.input_axes, self.output_axes, self.layout, self.groups = validate_fan_arguments(
            input_axes, output_axes, "keras" if layout is None else layout, groups
        )
        #: Whether the fans' layout was chosen (a layout or both axes): when it was not,
        #: ``fill_`` reads a torch tensor in PyTorch's layout rather than Keras'.
        self.layout_given = layout is not None or (input_axes is not None and output_axes is not None)
        self._calls = 0
        self._lock = threading.Lock()
        self._plans: dict[Any, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"], state["_plans"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._plans = {}

    def _key(self, backend: Any, generator: Any, device: Any) -> bytes:
        """The next call's key: drawn from ``generator`` (or the global generator without a
        seed), else the seed's key of the next call index (see :mod:`vscale.streams.keys`)."""
        portable = self.prng == "threefry"
        if generator is not None or self.seed is None:
            return streams.key_from(backend, generator, device, portable=portable)
        with self._lock:
            call = self._calls
            self._calls += 1
        return seeded_key(self.seed, call, portable=portable)

    def __call__(self, shape: Any, dtype: Any = None, *, xp: Any = None, device: Any = None, **deprecated: Any) -> Any:
        """Return a new array of ``shape`` and ``dtype`` drawn from the distribution.

        Parameters
        ----------
        shape : int or sequence of int
            Shape of the weight (``torch.Size`` and NumPy integers are fine).
        dtype : str or dtype, optional
            ``"float16"``, ``"bfloat16"`` (where the backend has it), ``"float32"``,
            ``"float64"``, ``"complex64"``, ``"complex128"``, or the backend's dtype object;
            ``None`` means :func:`vscale.floatx`.
        xp : module, namespace or str, optional
            The array library of the result: ``numpy``, ``torch``, ``cupy``,
            ``jax.numpy``, ``array_api_strict``, any array-API namespace, or one of those
            names.  ``None``: the library of a framework ``dtype`` object
            (``torch.float16`` gives a torch tensor), else NumPy.  ``"dask"`` (or
            ``dask.array``) gives a lazy Dask array with automatic chunks, as
            :func:`vscale.dask.array` does with its defaults.
        device : optional
            The backend's device object or string (``"cpu"``, ``"cuda:1"``, a CuPy
            ``Device``, a JAX device); ``None`` means the backend's default.  Values are
            generated there directly.

        Returns
        -------
        array
            A plain array of the namespace, of exactly ``shape`` and ``dtype``.

        Notes
        -----
        A call with a key from a generator, or of one piece of a larger tensor, is
        :meth:`sample` (``generator=``, ``region=``); Dask's chunks and block library are
        :func:`vscale.dask.array`'s.  The keywords ``generator``, ``region``, ``chunks`` and
        ``block_xp`` are still accepted here, with a ``DeprecationWarning`` that names the
        replacement, and give the same values.
        """
        if deprecated:
            return self._deprecated_call(shape, dtype, xp, device, deprecated)
        if xp is None:
            xp = namespace_of_dtype(dtype)  # torch.float16 alone means a torch tensor
        elif is_dask_namespace(xp):
            return self._dask_array(shape, dtype, xp=xp, device=device)
        return self._generate(validate_shape(shape), dtype, xp, device, self._fan_layout())

    def sample(
        self,
        shape: Any,
        dtype: Any = None,
        *,
        xp: Any = None,
        device: Any = None,
        generator: Any = None,
        region: Any = None,
    ) -> Any:
        """A call with its key from ``generator``, or only the piece ``region`` of it.

        ``shape``, ``dtype``, ``xp`` and ``device`` are as in :meth:`__call__`; without
        ``generator`` and ``region`` this is the same call.

        Parameters
        ----------
        generator : optional
            Where this call's key comes from instead of ``seed``: a ``torch.Generator``
            (torch), a CuPy generator (cupy), a JAX PRNG key (jax) or a
            ``numpy.random.Generator`` (any backend), as ``torch.nn.init`` accepts one.
            The initializer's own sequence of calls does not advance.  With
            ``prng="threefry"`` a JAX key is used as the call's Threefry key itself.
        region : tuple of slice, optional
            Compute only ``init(shape, dtype)[region]`` of this call (the same values),
            at a cost proportional to the region: the pieces of a sharded tensor, each
            made alone.  A region call counts as a call.  Works everywhere with
            ``prng="threefry"``; with native streams on NumPy, torch CPU and other host
            namespaces (not torch CUDA, CuPy, JAX, whose generators draw whole blocks).

        Returns
        -------
        array
            A plain array of the namespace, of exactly ``shape`` and ``dtype`` (the
            region's shape with ``region``).

        Examples
        --------
        >>> import numpy as np, vscale
        >>> init = vscale.HeNormal(seed=0, prng="threefry")
        >>> piece = init.sample((6, 4), region=(slice(2, 4),))
        >>> piece.shape, bool(np.array_equal(piece, vscale.HeNormal(seed=0, prng="threefry")((6, 4))[2:4]))
        ((2, 4), True)
        """
        if xp is None:
            xp = namespace_of_dtype(dtype)
        elif is_dask_namespace(xp):
            return self._dask_array(shape, dtype, xp=xp, device=device, generator=generator, region=region)
        dims = validate_shape(shape)
        box = None if region is None else validate_region(region, dims)
        return self._generate(dims, dtype, xp, device, self._fan_layout(), generator, region=box)

    def _dask_array(
        self,
        shape: Any,
        dtype: Any,
        *,
        xp: Any = "dask",
        device: Any = None,
        generator: Any = None,
        region: Any = None,
        chunks: Any = None,
        block_xp: Any = None,
    ) -> Any:
        """The lazy Dask array of one call (see :func:`vscale.dask.array`).

        Everything that can be refused is checked before the key is drawn; the engine
        gets the checked transform and the drawn key (:mod:`vscale.engine.lazy`).
        """
        portable = self.prng == "threefry"
        da, module, library = validate_dask_arguments(xp, device, region, chunks, block_xp, portable)
        dims = validate_shape(shape)
        backend = get_backend(module)
        name, native = resolve_dtype(backend, dtype)
        validate_allocation(dims, name, itemsize(name), None, backend.max_empty_extent)
        transform = self._transform(dims, self._fan_layout(), name)  # refuses values the dtype cannot hold
        normalized = validate_chunks(da, chunks, dims, native)
        # The key is drawn here, once: every block computes its region of this one call.  Unseeded
        # calls and numpy.random.Generator's draw it on the client, from NumPy (as a NumPy call does).
        host = get_backend("numpy")
        key = self._key(host, generator, host.resolve_device(None))
        return lazy.lazy_array(
            da, module, transform=transform, portable=portable, key=key, dims=dims, name=name, native=native,
            library=library, chunks=normalized,
        )  # fmt: skip

    def _deprecated_call(self, shape: Any, dtype: Any, xp: Any, device: Any, options: dict[str, Any]) -> Any:
        """``__call__`` with the keywords it carried before 0.2, each sent where it lives now."""
        unknown = sorted(set(options) - {"generator", "region", "chunks", "block_xp"})
        if unknown:
            raise TypeError(f"{type(self).__name__}.__call__() got an unexpected keyword argument {unknown[0]!r}")
        dask_options = {k: options[k] for k in ("chunks", "block_xp") if k in options}
        given = ", ".join(f"{k}=" for k in options)
        if dask_options or is_dask_namespace(xp):
            warnings.warn(
                f"Passing {given} to an initializer call is deprecated; use "
                "vscale.dask.array(initializer, shape, dtype, chunks=..., block_xp=..., generator=...).",
                DeprecationWarning,
                stacklevel=3,
            )
            return self._dask_array(shape, dtype, xp=xp, device=device, **options)
        warnings.warn(
            f"Passing {given} to an initializer call is deprecated; use "
            "initializer.sample(shape, dtype, xp=..., device=..., generator=..., region=...).",
            DeprecationWarning,
            stacklevel=3,
        )
        return self.sample(shape, dtype, xp=xp, device=device, **options)

    def _fan_layout(self) -> tuple[Any, ...]:
        return self.input_axes, self.output_axes, self.layout, self.groups

    def _generate(
        self,
        dims: tuple[int, ...],
        dtype: Any,
        xp: Any,
        device: Any,
        fan_layout: tuple[Any, ...],
        generator: Any = None,
        target: Any = None,
        region: Any = None,
    ) -> Any:
        """New values (into ``target`` if given), fans from ``fan_layout`` (see :meth:`_fan_layout`).

        Everything that can be refused is checked before the key is drawn and before
        anything is allocated or written.  ``region`` is a checked :class:`~vscale.core.regions.Box`.
        """
        cache_key = _plan_key(dims, dtype, xp, device, (fan_layout, region), target is None)
        plan = self._plans.get(cache_key) if cache_key is not None else None
        if plan is None:
            backend = get_backend(xp)
            name, native = resolve_dtype(backend, dtype)
            resolved = backend.resolve_device(device)
            if target is None:
                validate_allocation(
                    dims if region is None else region.sizes,
                    name,
                    itemsize(name),
                    backend.memory_bytes(resolved),
                    backend.max_empty_extent,
                )
            if region is not None:
                check_region(self.prng, backend, resolved, dims, name)
            transform = self._transform(dims, fan_layout, name)
            threefry = self.prng == "threefry"
            plan = plan_call(
                backend, dims, name, native, resolved, transform, itemsize(name), threefry=threefry, region=region
            )
            if cache_key is not None:
                if len(self._plans) >= _PLANS_KEPT:
                    self._plans.clear()
                self._plans[cache_key] = plan
        return generate(plan, self._key(plan.backend, generator, plan.device), target)

    def _transform(self, dims: tuple[int, ...], fan_layout: tuple[Any, ...], name: str) -> Any:
        params = self._parameters(dims, fan_layout)
        return transform_of(params, self.distribution, self.scale, name, portable=self.prng == "threefry")

    def fill_(self, array: ArrayT, *, generator: Any = None, shape: Any = None, region: Any = None) -> ArrayT:
        """Overwrite ``array`` in place with new values and return it.

        The fans come from ``array.shape`` with this initializer's layout; the values are
        the ones a call with the array's shape, dtype, namespace and device would return,
        written chunk by chunk straight into the array (no temporary of its size; views
        and non-contiguous arrays through a bounded workspace).  Everything that can be
        refused is checked first, so a refused call leaves the array untouched.  A torch
        tensor (``nn.Parameter`` too) records no autograd history.  ``generator`` is as
        in :meth:`__call__`.

        ``shape`` and ``region`` fill ``array`` with one piece of a larger tensor: the
        values (and fans) of a call with the global ``shape``, restricted to ``region``
        (as in :meth:`__call__`), whose shape ``array`` must have.  This is how a shard
        of a distributed parameter is initialized where it lives.

        Raises
        ------
        ValueError
            For a read-only array, one whose elements share memory (``expand``), a
            meta-device tensor, or an inference tensor outside ``torch.inference_mode``.
        TypeError
            For an object that is not an array, an immutable array type (JAX), or a
            sparse or nested tensor.

        Examples
        --------
        >>> import numpy as np, vscale
        >>> w = np.empty((3, 3, 8, 16), dtype=np.float64)
        >>> vscale.HeUniform(seed=0).fill_(w) is w
        True
        """
        return self._fill(array, None, generator, shape, region)

    def _fill(
        self, array: ArrayT, fan_layout: Any = None, generator: Any = None, shape: Any = None, region: Any = None
    ) -> ArrayT:
        """:meth:`fill_` with the fans of ``fan_layout`` (see :meth:`_fan_layout`) where given."""
        target = fill_target(self.prng, array, shape, region)
        layout = self._fan_layout() if fan_layout is None else fan_layout
        if fan_layout is None and not self.layout_given and target.torch_layout:
            layout = (None, None, "torch", self.groups)  # a torch weight is (out, in/groups, *kernel)
        local = target.local
        self._generate(
            target.dims,
            local.dtype,
            target.namespace,
            device_of(local),
            layout,
            generator,
            target=local,
            region=target.box,
        )
        return array

    def parameters(self, shape: Any) -> Parameters:
        """Fans, ``n``, deviations and support half-width for a weight of ``shape``.

        Examples
        --------
        >>> import vscale
        >>> p = vscale.VarianceScaling(2.0, "fan_in", "uniform").parameters((3, 3, 64, 128))
        >>> p.fan_in, p.fan_out, p.n
        (576, 1152, 576.0)
        """
        return self._parameters(validate_shape(shape), self._fan_layout())

    def _parameters(self, dims: tuple[int, ...], fan_layout: tuple[Any, ...]) -> Parameters:
        fan_in, fan_out = fans_of(dims, *fan_layout)
        if max(fan_in, fan_out) >= 2**1023:  # in __call__, only shapes with a zero dimension get here
            raise ValueError(
                f"Argument `shape` gives fans of about (2**{fan_in.bit_length()}, 2**{fan_out.bit_length()}), "
                f"beyond the float64 range; received a shape of rank {len(dims)}."
            )
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return parameters_of(self.distribution, self.scale, fan_in, fan_out, max(1.0, float(fan)))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-serializable dict (fan-layout keys only when set)."""
        config = {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}
        return {**config, **self._options_config()}

    def _options_config(self) -> dict[str, Any]:
        """The fan-layout keys and ``prng``, where they differ from their defaults."""
        config = self._fan_config()
        if self.prng != "native":
            config["prng"] = self.prng
        return config

    def _fan_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.input_axes is not None or self.output_axes is not None:
            config["input_axes"] = None if self.input_axes is None else list(self.input_axes)
            config["output_axes"] = None if self.output_axes is None else list(self.output_axes)
        if self.layout != "keras" or (self.layout_given and self.input_axes is None):
            config["layout"] = self.layout
        if self.groups != 1:
            config["groups"] = self.groups
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> VarianceScaling:
        """A new initializer from :meth:`get_config`'s dict; its seed sequence starts anew."""
        check_config(config)
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={short_repr(v)}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


#: Positions of a call that the portable stream addresses with 64-bit signed integers
#: (JAX's counters reach 2**64; regions compute positions in int64).
_PORTABLE_POSITIONS = 2**63

#: Checked call plans an initializer keeps (backend, dtype, device, transform per
#: shape/dtype/xp/device): repeated calls skip the argument checks that cannot change.
_PLANS_KEPT = 32


def _plan_key(dims: tuple[int, ...], dtype: Any, xp: Any, device: Any, fan_layout: Any, new: bool) -> Any:
    """A hashable key for a call's arguments, or None where one is unhashable."""
    # Types next to values: dtypes and devices of different libraries may compare equal.
    # The environment variables that the plan reads are part of its key.
    key = (dims, floatx() if dtype is None else (type(dtype), dtype),
           xp if isinstance(xp, str) or xp is None else id(xp), (type(device), device), fan_layout, new,
           environment_settings())  # fmt: skip
    try:
        hash(key)
    except TypeError:
        return None
    return key


def check_config(config: Any) -> None:
    """Refuse a config that is not a dict with string keys, naming what is wrong."""
    if not isinstance(config, Mapping):
        raise TypeError(
            f"Argument `config` must be a dict; received {short_repr(config)} of type {type(config).__name__}."
        )
    odd = [key for key in config if not isinstance(key, str)]
    if odd:
        raise TypeError(f"Argument `config` must have string keys; received the keys {short_repr(odd)}.")


#: Keras' lower-case alias: the same class object.
variance_scaling = VarianceScaling


def parameters_of(distribution: Kind, scale: float, fan_in: int, fan_out: int, n: float) -> Parameters:
    """What ``distribution`` draws for variance ``scale / n`` (``n`` from the fans by a mode)."""
    stddev = math.sqrt(scale / n)
    if distribution == "truncated_normal":
        sigma = stddev / TRUNCATED_STD
        return Parameters(fan_in, fan_out, n, stddev, sigma, 2.0 * sigma)
    if distribution == "uniform":
        return Parameters(fan_in, fan_out, n, stddev, stddev, math.sqrt(3.0 * scale / n))
    return Parameters(fan_in, fan_out, n, stddev, stddev, math.inf)


def transform_of(params: Parameters, distribution: Kind, scale: float, name: str, *, portable: bool) -> Any:
    """The transform of one call for output dtype ``name``, after refusing values it cannot hold.

    ``portable``: JAX's constructions (``prng="threefry"``) for real dtypes; complex dtypes
    have vscale's rotation-invariant definition with either stream.
    """
    if portable and not is_complex(name):
        _check_representable(params, name)
        return portable_transform(distribution, scale, params.n, working_name(name), name)
    if is_complex(name):
        rotation = make_complex_transform(distribution, params.stddev)
        _check_representable(params._replace(bound=rotation.bound), name)
        return rotation
    _check_representable(params, name)
    spread = params.bound if distribution == "uniform" else params.sigma
    return make_transform(distribution, spread, largest_at_most(params.bound, name))


def _check_representable(params: Parameters, dtype_name: str) -> None:
    """Refuse parameters whose values would overflow or underflow the output dtype.

    Besides the output dtype's own range, the working dtype (float32 for float16, bfloat16
    and float32 results, float64 for float64) must carry the values at full precision: the
    transforms fold the deviation into their polynomial coefficients, and with a deviation
    below ``smallest_normal / eps`` of the working dtype (float32: 2**-103 = 9.9e-32)
    some of those products are subnormal; measured, float32 results then drift to hundreds
    of ulps (tests/test_numerics_extremes.py).  float64's floor, 2**-970, lies far below any
    deviation a float64 ``scale`` can produce with a fan up to 2**53.
    """
    largest, smallest_normal, _ = finfo(dtype_name)
    reach = params.bound
    if math.isinf(reach):
        bits = 64 if working_name(dtype_name) == "float64" else 32
        reach = params.stddev * max(NORMAL_REACH[bits], SAMPLED_NORMAL_REACH[bits])
    if reach > largest:
        raise ValueError(
            f"Values of this initializer reach {reach:.3g}, beyond the largest {dtype_name} "
            f"({largest:.3g}); lower `scale` (received {params.stddev**2 * params.n:.3g}) or use a wider dtype."
        )
    if params.stddev < smallest_normal:
        raise ValueError(
            f"The standard deviation {params.stddev:.3g} is below the smallest normal {dtype_name} "
            f"({smallest_normal:.3g}): values would be subnormal or zero; raise `scale` or use a wider dtype."
        )
    working = working_name(dtype_name)
    _, working_tiny, working_eps = finfo(working)
    floor = working_tiny / working_eps
    if params.stddev < floor:
        raise ValueError(
            f"The standard deviation {params.stddev:.3g} is below {floor:.3g}, the smallest that {working} "
            f"arithmetic carries at full precision (its smallest normal / eps); raise `scale` or use float64."
        )


def check_region(prng: str, backend: Any, device: Any, dims: tuple[int, ...], name: str) -> None:
    """Refuse, before anything is drawn, a region that this call's stream cannot compute alone."""
    if prng == "native" and not streams.seeks(backend, device):
        raise ValueError(
            f"Argument `region` needs a stream that can seek: the native generator of the "
            f'{backend.framework_name} backend on {device} draws whole blocks; use prng="threefry".'
        )
    if prng == "threefry":
        positions = math.prod(dims) * (2 if is_complex(name) else 1)
        if positions > _PORTABLE_POSITIONS:
            raise ValueError(
                f"Argument `shape` has {positions} positions (values, twice for complex dtypes), beyond the "
                f"2**63 the portable stream counts in 64-bit integers; received a shape of rank {len(dims)}."
            )
        compute_xp, _ = backend.compute(device)
        if backend.threefry_dtypes(compute_xp, device)[1] is None:
            raise ValueError(
                "Argument `region` needs 64-bit integers for positions; on JAX enable them with "
                'jax.config.update("jax_enable_x64", True).'
            )
