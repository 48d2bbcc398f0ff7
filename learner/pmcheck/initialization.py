"""Checks for the "initialization" assignment: the mixture initializer, Xavier and 42.

The mixture initializer draws each weight from U(5, 10) with probability 1/4, is 0 with
probability 1/2 and draws from U(-10, -5) with probability 1/4. It is checked
statistically; the tolerances are set so that a correct initializer fails with a
probability given by :func:`mixture_false_failure_bound` (below 2e-16 on the public
layer), while the usual mistakes miss by many tolerances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pmcheck.common import call, rng
from pmcheck.frameworks import Framework, get
from pmcheck.question import Question, Spec, require

LOW, HIGH = 5.0, 10.0
#: Rounding slack for float32 weights at the edges of the support.
EDGE = 1e-4
#: The public layer: 400 x 500 = 200,000 weights.
PUBLIC_SHAPE = (400, 500)
#: Allowed gap between an observed fraction (zeros, positives, negatives) and 1/2, 1/4, 1/4.
FRACTION_TOLERANCE = 0.01
#: Allowed Kolmogorov-Smirnov distance between each sign's values and U(5, 10).
KS_TOLERANCE = 0.02
#: The weights of a layer are cut into this many consecutive chunks; in each, the
#: fraction of zeros must be within CHUNK_TOLERANCE of 1/2 (zeros scattered at random).
CHUNKS, CHUNK_TOLERANCE = 4, 0.025
#: At most this fraction of the weights may repeat (non-zero) across two initializations.
REPEAT_TOLERANCE = 0.05

#: Relative tolerance on the variance of the Xavier-initialized weights.
XAVIER_TOLERANCE = 0.15
#: Hidden nets draw the first layer's sizes from here: large enough for the variance
#: check, and in a ratio that keeps Xavier apart from the frameworks' default init.
XAVIER_SIZES = (96, 192)


def _hoeffding(n: float, t: float) -> float:
    """P(|mean of n i.i.d. variables in [0, 1] - expectation| >= t) <= 2 exp(-2 n t^2)."""
    return 2 * math.exp(-2 * n * t * t)


def mixture_false_failure_bound(n: int) -> float:
    """An upper bound on P(a correct initializer fails :func:`check_mixture_init` on n weights).

    Union bound over the checks that can fail by chance (the support check cannot):
    three fractions (zeros, positives, negatives; Hoeffding with t = 0.01) and two
    Kolmogorov-Smirnov distances (Dvoretzky-Kiefer-Wolfowitz with Massart's constant,
    2 exp(-2 m eps^2), where m >= 0.24 n values of each sign once the fraction check passed).
    """
    fractions = 3 * _hoeffding(n, FRACTION_TOLERANCE)
    ks = 2 * _hoeffding((0.25 - FRACTION_TOLERANCE) * n, KS_TOLERANCE)
    return fractions + ks


def mixture_layout_false_failure_bound(n: int) -> float:
    """An upper bound on P(a correct initializer fails the layout and repeat checks on n weights).

    Hoeffding for the zero fraction of each of the CHUNKS chunks, and for the fraction of
    weights that repeat across two draws (two float32 draws from U(5, 10) coincide with
    probability below 1e-4, so the tolerance of 5% is a deviation of at least 0.0499).
    """
    chunks = CHUNKS * _hoeffding(n / CHUNKS, CHUNK_TOLERANCE)
    repeats = _hoeffding(n, REPEAT_TOLERANCE - 1e-4)
    return chunks + repeats


def xavier_false_failure_bound(n: int) -> float:
    """An upper bound on P(a correct Xavier-uniform layer of n weights fails the variance check).

    w^2 lies in [0, a^2] with mean a^2 / 3; Hoeffding with a deviation of
    XAVIER_TOLERANCE * a^2 / 3 gives 2 exp(-2 n (XAVIER_TOLERANCE / 3)^2).
    """
    return _hoeffding(n, XAVIER_TOLERANCE / 3)


@dataclass(frozen=True)
class MixtureStats:
    """What the checks measure on a set of weights."""

    n: int
    zero: float  # fraction exactly 0
    positive: float  # fraction in [5, 10]
    negative: float  # fraction in [-10, -5]
    inner: float  # fraction with 0 < |w| < 5: impossible for a correct initializer
    outer: float  # fraction with |w| > 10: impossible as well
    smallest_nonzero: float
    ks_positive: float
    ks_negative: float

    @classmethod
    def of(cls, weights: np.ndarray) -> MixtureStats:
        w = np.asarray(weights, dtype=np.float64).ravel()
        size = np.abs(w)
        nonzero = size[w != 0]
        positive = w[(w >= LOW - EDGE) & (w <= HIGH + EDGE)]
        negative = -w[(w <= -LOW + EDGE) & (w >= -HIGH - EDGE)]
        return cls(
            n=w.size,
            zero=float(np.mean(w == 0)),
            positive=positive.size / w.size,
            negative=negative.size / w.size,
            inner=float(np.mean((w != 0) & (size < LOW - EDGE))),
            outer=float(np.mean(size > HIGH + EDGE)),
            smallest_nonzero=float(nonzero.min()) if nonzero.size else float("nan"),
            ks_positive=_ks_uniform(positive, LOW, HIGH),
            ks_negative=_ks_uniform(negative, LOW, HIGH),
        )


def _ks_uniform(values: np.ndarray, low: float, high: float) -> float:
    """Kolmogorov-Smirnov distance between the values' empirical CDF and U(low, high)."""
    if values.size == 0:
        return 1.0
    x = np.sort(values)
    cdf = np.clip((x - low) / (high - low), 0.0, 1.0)
    i = np.arange(1, x.size + 1)
    return float(max(np.max(i / x.size - cdf), np.max(cdf - (i - 1) / x.size)))


# -- Part A: the mixture initializer -----------------------------------------------------
def _mixture_specs(framework: str, shape: Sequence[int] = PUBLIC_SHAPE) -> list[Spec]:
    """The initializer's weights on one large layer follow the mixture.

    A correct initializer fails with probability below ``mixture_false_failure_bound``
    (1.1e-16 for the public 200,000 weights).
    """
    out, in_ = shape
    return [{"sizes": [int(in_), int(out)], "again": False}]


def _mixture_random_specs(framework: str) -> list[Spec]:
    """On a random three-layer net: every layer initialized, zeros scattered, fresh draws.

    A correct initializer fails with probability below the sum of
    ``mixture_false_failure_bound`` (all weights, pooled: at least 240,000) and
    ``mixture_layout_false_failure_bound`` (the first layer: at least 160,000), under 1e-19.
    """
    gen = rng()
    sizes = [
        int(gen.integers(400, 601)),
        int(gen.integers(400, 601)),
        int(gen.integers(200, 401)),
        int(gen.integers(2, 11)),
    ]
    return [{"sizes": sizes, "again": True}]


def _probe_mixture(initializer: Any, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    net = fw.mlp(spec["sizes"])
    shown = f"net, {_name(initializer)}"
    call(fw.apply_initializer, net, initializer, shown=shown)
    layers = fw.dense_layers(net)
    data = {"weights": [_float32(fw, fw.weight(layer)) for layer in layers]}
    if spec["again"]:
        call(fw.apply_initializer, net, initializer, shown=shown)
        data["again"] = _float32(fw, fw.weight(fw.dense_layers(net)[0]))
    return data


def _judge_mixture(framework: str, spec: Spec, data: dict) -> str | None:
    sizes = list(spec["sizes"])
    layers = data["weights"]
    require(isinstance(layers, list) and len(layers) == len(sizes) - 1)
    for weights, in_, out in zip(layers, sizes, sizes[1:]):
        require(isinstance(weights, np.ndarray) and weights.shape == (out, in_))
    if not spec["again"]:
        out, in_ = layers[0].shape
        return _mixture_failure(layers[0], f"a {out} x {in_} layer")
    for k, weights in enumerate(layers):
        hint = " — was the initializer applied to every dense layer?" if k else ""
        message = _support_failure(
            MixtureStats.of(weights), f"dense layer {k} of a net with layers {_arrows(sizes)}{hint}"
        )
        if message is not None:
            return message
    message = _mixture_failure(
        np.concatenate([w.ravel() for w in layers]),
        f"all the weights of a net with layers {_arrows(sizes)}",
    )
    if message is not None:
        return message
    first, again = layers[0].ravel(), data["again"]
    require(isinstance(again, np.ndarray) and again.shape == layers[0].shape)
    chunk_zero = [float(np.mean(chunk == 0)) for chunk in np.array_split(first, CHUNKS)]
    worst = max(range(CHUNKS), key=lambda c: abs(chunk_zero[c] - 0.5))
    if abs(chunk_zero[worst] - 0.5) > CHUNK_TOLERANCE:
        return (
            f"the zeros should be scattered at random over the weights, but in quarter "
            f"{worst + 1} of the first layer's weights {chunk_zero[worst]:.1%} are 0 "
            f"(quarters: {', '.join(f'{z:.1%}' for z in chunk_zero)}); expected about 50% "
            f"in each. Draw each weight independently instead of writing the parts in "
            f"blocks"
        )
    repeated = float(np.mean((first != 0) & (first == again.ravel())))
    if repeated > REPEAT_TOLERANCE:
        return (
            f"initializing the same layer twice gave the same non-zero weights at "
            f"{repeated:.1%} of the positions: the initializer must draw fresh random "
            f"numbers each time, not write a fixed pattern or reseed the generator"
        )
    return None


def _mixture_failure(weights: np.ndarray, what: str) -> str | None:
    stats = MixtureStats.of(weights)
    if not np.all(np.isfinite(weights)):
        return f"{what}: some weights are NaN or infinite"
    message = _support_failure(stats, what)
    if message is not None:
        return message
    if stats.zero == 1:
        return (
            f"{what}: every weight is exactly 0, as if the initializer wrote nothing. In "
            f"MXNet, _init_weight(self, name, data) must write into the array it is given, "
            f"data[:] = ...; data = ... only rebinds the local name"
        )
    if abs(stats.zero - 0.5) > FRACTION_TOLERANCE:
        return (
            f"{what}: expected about 50% of the weights to be exactly 0 (±"
            f"{FRACTION_TOLERANCE:.0%}); got {stats.zero:.1%} of {stats.n} weights"
        )
    if (
        abs(stats.positive - 0.25) > FRACTION_TOLERANCE
        or abs(stats.negative - 0.25) > FRACTION_TOLERANCE
    ):
        return (
            f"{what}: expected about 25% of the weights in [5, 10] and 25% in [-10, -5] (±"
            f"{FRACTION_TOLERANCE:.0%}); got {stats.positive:.1%} and {stats.negative:.1%}"
            + (" — one sign is missing" if min(stats.positive, stats.negative) == 0 else "")
        )
    for sign, ks in (("positive", stats.ks_positive), ("negative", stats.ks_negative)):
        if ks > KS_TOLERANCE:
            return (
                f"{what}: the {sign} weights should be spread uniformly over "
                f"{'[5, 10]' if sign == 'positive' else '[-10, -5]'}, but their "
                f"distribution is {ks:.3f} away from the uniform one (Kolmogorov-Smirnov "
                f"distance; a uniform draw stays within {KS_TOLERANCE})"
            )
    return None


def _support_failure(stats: MixtureStats, what: str) -> str | None:
    if stats.outer != 0:
        return (
            f"{what}: {stats.outer:.1%} of the weights are beyond ±10; every weight should "
            f"be 0 or have 5 <= |w| <= 10"
        )
    if stats.inner == 0 and stats.zero > 0:
        return None
    if stats.inner == 0:
        return f"{what}: no weight is 0; about half of them should be"
    head = (
        f"{what}: {stats.inner:.1%} of the weights are non-zero with |w| < 5; every weight "
        f"should be 0 or have 5 <= |w| <= 10"
    )
    if stats.zero < 0.01 and stats.positive + stats.negative > 0.2:
        return (
            f"{head}. No weight is 0: this looks like U(-10, 10) without the zeroing step "
            f"— set every weight with |w| < 5 to 0"
        )
    if stats.positive + stats.negative < 0.01:
        return (
            f"{head}, and none has |w| >= 5: the mask is inverted — it kept the weights "
            f"with |w| < 5 and zeroed the others"
        )
    return (
        f"{head}. The smallest non-zero |w| is {stats.smallest_nonzero:.3g}: the zeroing "
        f"threshold looks like {stats.smallest_nonzero:.2g} instead of 5"
    )


def _float32(fw: Framework, param: Any) -> np.ndarray:
    """A weight as float32, what every framework here stores: half the bytes on the wire."""
    return fw.numpy(param).astype(np.float32)


def _name(initializer: Any) -> str:
    return getattr(initializer, "__name__", type(initializer).__name__)


def _arrows(sizes: Sequence[int]) -> str:
    return " -> ".join(str(s) for s in sizes)


MIXTURE = Question("initialization.mixture", _probe_mixture, _judge_mixture)
check_mixture_init = MIXTURE.check_function("check_mixture_init", "public", _mixture_specs)
check_mixture_init_random = MIXTURE.check_function(
    "check_mixture_init_random", "random", _mixture_random_specs
)


# -- Part B: Xavier for the first layer, 42 for the last ---------------------------------
def _xavier_specs(framework: str, sizes: Sequence[int] = (128, 96, 64, 10)) -> list[Spec]:
    """The first layer's weight is Xavier-uniform, the last is 42, the others unchanged.

    A correct answer fails the statistical part with probability below
    ``xavier_false_failure_bound(sizes[0] * sizes[1])`` (4e-27 for the public net).
    """
    return [{"sizes": [int(s) for s in sizes], "seed": int(rng().integers(2**32))}]


def _xavier_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_xavier_first_42_last`` on nets of random depth (3 to 5 layers) and widths.

    A correct answer fails with probability below ``trials * xavier_false_failure_bound(96**2)``
    (about 3e-20).
    """
    gen = rng()
    specs = []
    for _ in range(trials):
        first = [int(gen.integers(*XAVIER_SIZES, endpoint=True)) for _ in range(2)]
        middle = [int(gen.integers(8, 65)) for _ in range(int(gen.integers(1, 4)))]
        specs += _xavier_specs(framework, [*first, *middle, int(gen.integers(1, 11))])
    return specs


def starting_weights(sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """The weights each dense layer holds before ``init_first_and_last`` runs, from the seed.

    U(-0.5, 0.5) is neither Xavier (its bound is below 0.18 for every net checked) nor 42, so
    a layer left alone is told apart from one initialized; the judge regenerates these itself.
    """
    gen = np.random.default_rng(seed)
    return [
        gen.uniform(-0.5, 0.5, size=(out, in_)).astype(np.float32)
        for in_, out in zip(sizes, sizes[1:])
    ]


def _probe_xavier(init_first_and_last: Any, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    net = fw.mlp(spec["sizes"])
    layers = fw.dense_layers(net)
    for layer, weights in zip(layers, starting_weights(spec["sizes"], spec["seed"])):
        fw.set_numpy(fw.weight(layer), weights)
    call(init_first_and_last, net, shown="net")
    return {"weights": [_float32(fw, fw.weight(layer)) for layer in layers]}


def _judge_xavier(framework: str, spec: Spec, data: dict) -> str | None:
    fw = get(framework)
    sizes = list(spec["sizes"])
    before = starting_weights(sizes, spec["seed"])
    after = data["weights"]
    require(isinstance(after, list) and len(after) == len(before))
    for got, start in zip(after, before):
        require(isinstance(got, np.ndarray) and got.shape == start.shape)
    last = len(after) - 1
    where = f"in a net with layers {_arrows(sizes)}"
    position = f"net[{last * fw.step}] or net[-1]"
    if not np.all(after[last] == 42):
        fortytwo = [k for k in range(last) if np.all(after[k] == 42)]
        if fortytwo:
            return (
                f"{where}, dense layer {fortytwo[0]} got the constant 42, but it is not "
                f"the last layer: the last one is {position}"
            )
        if np.array_equal(after[last], before[last]):
            return (
                f"{where}, the last layer's weight was not changed; expected 42 "
                f"everywhere. The last layer of this net is {position}" + _reinit_hint(framework)
            )
        return (
            f"{where}, the last layer's weight should be 42 everywhere; got values from "
            f"{after[last].min():.3g} to {after[last].max():.3g}"
        )
    for k in range(1, last):
        if not np.array_equal(after[k], before[k]):
            return (
                f"{where}, dense layer {k} was re-initialized; only the first and the last "
                f"layers should change"
            )
    first = after[0].astype(np.float64)
    fan_out, fan_in = first.shape
    bound = math.sqrt(6 / (fan_in + fan_out))
    if np.array_equal(after[0], before[0]):
        return (
            f"{where}, the first layer's weight was not changed; expected Xavier uniform"
            + _reinit_hint(framework)
        )
    largest = float(np.abs(first).max())
    if not largest <= bound * (1 + 1e-4):
        return (
            f"{where}, the first layer ({fan_in} -> {fan_out}) should be Xavier uniform, "
            f"within ±sqrt(6 / (fan_in + fan_out)) = ±{bound:.4f}; its largest |w| is "
            f"{largest:.4f} — Xavier normal, or another initializer?"
        )
    variance = float(np.mean(first**2))
    target = bound**2 / 3
    if not abs(variance - target) <= XAVIER_TOLERANCE * target:
        return (
            f"{where}, the first layer's weights should have variance 2 / (fan_in + "
            f"fan_out) = {target:.4g} (Xavier uniform); got {variance:.4g} — the "
            f"framework's default initializer, or Xavier with another gain?"
        )
    return None


def _reinit_hint(framework: str) -> str:
    if framework != "mxnet":
        return ""
    return (
        ". In MXNet, initializing a parameter that already has values does nothing (it "
        "only warns) unless you pass force_reinit=True"
    )


XAVIER = Question("initialization.xavier_first_42_last", _probe_xavier, _judge_xavier)
check_xavier_first_42_last = XAVIER.check_function(
    "check_xavier_first_42_last", "public", _xavier_specs
)
check_xavier_first_42_last_random = XAVIER.check_function(
    "check_xavier_first_42_last_random", "random", _xavier_random_specs
)
