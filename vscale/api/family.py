"""The Glorot, He and LeCun initializers: :class:`VarianceScaling` with Keras' parameters.

Each preset fixes ``scale``, ``mode`` and ``distribution`` (the normal variants are
truncated, as in Keras) and keeps ``seed`` and the fan-layout arguments.  Its config
is Keras' preset config: ``{"seed": ...}`` plus the fan-layout keys that are set;
:meth:`Preset.from_config` also takes Keras 3's ``input_axes``/``output_axes`` and
full :class:`VarianceScaling` configs whose fixed values agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..core.fans import Layout
from .initializers import VarianceScaling, check_config
from .validation import validate_distribution

_FAN_KEYS = ("input_axes", "output_axes", "layout", "groups", "prng")


class Preset(VarianceScaling):
    """A :class:`VarianceScaling` whose ``scale``, ``mode`` and ``distribution`` are fixed."""

    SCALE: ClassVar[float]
    MODE: ClassVar[str]
    DISTRIBUTION: ClassVar[str]

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
        *,
        layout: Layout | None = None,
        groups: int = 1,
        prng: str = "native",
        **unexpected: Any,
    ) -> None:
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} fixes scale={self.SCALE}, mode={self.MODE!r} and "
                f"distribution={self.DISTRIBUTION!r}, and takes only seed, input_axes, output_axes, layout, "
                f"groups and prng; received {sorted(unexpected)}. Use vscale.VarianceScaling for other values."
            )
        super().__init__(
            self.SCALE,
            self.MODE,  # type: ignore[arg-type]
            self.DISTRIBUTION,  # type: ignore[arg-type]
            seed,
            input_axes,
            output_axes,
            layout=layout,
            groups=groups,
            prng=prng,  # type: ignore[arg-type]
        )

    def get_config(self) -> dict[str, Any]:
        """``{"seed": seed}`` and the fan-layout and ``prng`` keys that differ from their defaults."""
        return {"seed": self.seed, **self._options_config()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> VarianceScaling:
        """A new preset from its config; ``scale``/``mode``/``distribution`` may be present
        (as in full :class:`VarianceScaling` configs) if they equal the preset's values."""
        check_config(config)
        fixed = {"scale": cls.SCALE, "mode": cls.MODE, "distribution": cls.DISTRIBUTION}
        unknown = sorted(set(config) - {"seed", *_FAN_KEYS, *fixed})
        if unknown:
            raise ValueError(
                f"Argument `config` of {cls.__name__}.from_config has unknown keys {unknown}; "
                f"allowed are {['seed', *_FAN_KEYS, *fixed]}."
            )
        for key, value in fixed.items():
            if key in config and _normalized(key, config[key]) != value:
                raise ValueError(
                    f"Argument `config` of {cls.__name__}.from_config has {key}={config[key]!r}, but "
                    f"{cls.__name__} fixes {key}={value!r}; use VarianceScaling.from_config for other values."
                )
        fan = {k: config[k] for k in ("input_axes", "output_axes") if k in config}
        options = {k: config[k] for k in ("layout", "groups", "prng") if k in config}
        return cls(config.get("seed"), **fan, **options)


def _normalized(key: str, value: Any) -> Any:
    if key == "distribution":
        try:
            return validate_distribution(value)
        except ValueError:
            return value
    if key == "mode" and isinstance(value, str):
        return value.lower()
    return value


class GlorotUniform(Preset):
    """Glorot (Xavier) uniform: ``U[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
    networks", AISTATS 2010.  ``VarianceScaling(1.0, "fan_avg", "uniform")``.

    Examples
    --------
    >>> import vscale
    >>> vscale.GlorotUniform(seed=0)((4, 5)).shape
    (4, 5)
    """

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_avg", "uniform"


class GlorotNormal(Preset):
    """Glorot (Xavier) normal, truncated at 2 sigma: ``stddev = sqrt(2 / (fan_in + fan_out))``.

    Glorot & Bengio, AISTATS 2010 (see :class:`GlorotUniform`).
    ``VarianceScaling(1.0, "fan_avg", "truncated_normal")``.

    Examples
    --------
    >>> import vscale
    >>> vscale.GlorotNormal(seed=0)((4, 5), "float64").dtype
    dtype('float64')
    """

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_avg", "truncated_normal"


class HeUniform(Preset):
    """He (Kaiming) uniform: ``U[-limit, limit]``, ``limit = sqrt(6 / fan_in)``.

    He et al., "Delving Deep into Rectifiers: Surpassing Human-Level Performance on
    ImageNet Classification", ICCV 2015.  ``VarianceScaling(2.0, "fan_in", "uniform")``.

    Examples
    --------
    >>> import vscale
    >>> vscale.HeUniform(layout="torch").parameters((128, 64, 3, 3)).fan_in
    576
    """

    SCALE, MODE, DISTRIBUTION = 2.0, "fan_in", "uniform"


class HeNormal(Preset):
    """He (Kaiming) normal, truncated at 2 sigma: ``stddev = sqrt(2 / fan_in)``.

    He et al., ICCV 2015 (see :class:`HeUniform`).
    ``VarianceScaling(2.0, "fan_in", "truncated_normal")``.

    Examples
    --------
    >>> import vscale
    >>> vscale.HeNormal(seed=0)((3, 3, 8, 16)).shape
    (3, 3, 8, 16)
    """

    SCALE, MODE, DISTRIBUTION = 2.0, "fan_in", "truncated_normal"


class LecunUniform(Preset):
    """LeCun uniform: ``U[-limit, limit]``, ``limit = sqrt(3 / fan_in)``.

    LeCun et al., "Efficient BackProp", in Neural Networks: Tricks of the Trade, 1998;
    Klambauer et al., "Self-Normalizing Neural Networks", NeurIPS 2017.
    ``VarianceScaling(1.0, "fan_in", "uniform")``.

    Examples
    --------
    >>> import vscale
    >>> vscale.LecunUniform(seed=0)(7).shape
    (7,)
    """

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "uniform"


class LecunNormal(Preset):
    """LeCun normal, truncated at 2 sigma: ``stddev = sqrt(1 / fan_in)``.

    LeCun et al., 1998; Klambauer et al., NeurIPS 2017 (see :class:`LecunUniform`).
    ``VarianceScaling(1.0, "fan_in", "truncated_normal")``.

    Examples
    --------
    >>> import vscale
    >>> vscale.LecunNormal(seed=0).get_config()
    {'seed': 0}
    """

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "truncated_normal"


#: Keras' snake_case aliases: the same class objects.
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal

PRESETS: tuple[type[Preset], ...] = (GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal)
