"""Checks for the "portability" assignment: a net's state as numpy arrays, and under other names.

The nets are drawn on the judging side as plain descriptions (:mod:`pmcheck.access`'s trees of
dicts) with a seed. From the seed alone, with numpy, the judge knows every array the state
holds -- the probe writes exactly those into the net it builds -- what each framework names
it, and the net's outputs in inference mode (BatchNorm normalizing with its running
statistics). So a report is right only if its names and values are, and a converted state is
judged by the logits numpy computes from it, not by what the learner's kernel says of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pmcheck import FRAMEWORK_NAMES, FRAMEWORKS
from pmcheck.access import _dense, _sequential, build, layers, random_net
from pmcheck.common import call, expect, fail, rng
from pmcheck.frameworks import get
from pmcheck.question import Question, Spec, require

#: What each layer with state holds, by role, in the order the seed fills them.
ROLES = {
    "dense": ("weight", "bias"),
    "conv": ("weight", "bias"),
    "norm": ("scale", "shift", "mean", "var", "count"),
}
#: BatchNorm's arrays as each framework names them (only PyTorch counts the training passes).
NORM_NAMES = {
    "pytorch": {
        "scale": "weight",
        "shift": "bias",
        "mean": "running_mean",
        "var": "running_var",
        "count": "num_batches_tracked",
    },
    "mxnet": {"scale": "gamma", "shift": "beta", "mean": "running_mean", "var": "running_var"},
    "mindspore": {
        "scale": "gamma",
        "shift": "beta",
        "mean": "moving_mean",
        "var": "moving_variance",
    },
}
#: The roles a BatchNorm layer keeps from training passes rather than from the optimizer.
STATISTICS = ("mean", "var", "count")
#: BatchNorm's epsilon: 1e-5 by default in all three frameworks.
EPS = 1e-5
#: Largest difference of logits (relative to a bound of their size) that still counts as equal.
TOLERANCE = 1e-4
#: Most entries and values the probe takes from a learner's state.
_MAX_ENTRIES, _MAX_VALUES = 1000, 200_000

#: Why a state without BatchNorm's statistics is incomplete, per framework.
_WHY_STATISTICS = {
    "pytorch": (
        "they are buffers, not parameters, so named_parameters() and parameters() "
        "leave them out; state_dict() holds every entry, buffers included"
    ),
    "mxnet": (
        "they are parameters that are not trained (grad_req 'null') but part of the "
        "state the net predicts with; the file save_parameters writes holds them"
    ),
    "mindspore": (
        "they are parameters that are not trained (requires_grad=False), so "
        "trainable_params() leaves them out; parameters_and_names() holds them"
    ),
}
#: How to reach every entry of a net's state, per framework, for the hints.
_EVERY_ENTRY = {
    "pytorch": "net.state_dict() and load_state_dict (with torch.from_numpy)",
    "mxnet": "the file save_parameters writes and load_parameters reads",
    "mindspore": "net.parameters_dict() and ms.load_param_into_net",
}


# -- the state a description implies -------------------------------------------------------
def entries(framework: str, node: dict) -> list[tuple[str, int, str, tuple[int, ...]]]:
    """``(name, layer, role, shape)`` of every array in the net's state, as ``framework`` names it.

    ``layer`` counts the layers with state in order; ``role`` is framework-neutral
    (``weight``, ``bias``; BatchNorm's ``scale``, ``shift``, ``mean``, ``var``, ``count``).
    The tests check this against every framework's own checkpoint of such nets.
    """
    found = []
    for index, (path, kind, leaves) in enumerate(layers(framework, node)):
        if kind == "norm":
            size = leaves[0][1][0]
            for role in ROLES["norm"]:
                if role in NORM_NAMES[framework]:
                    found.append(
                        (
                            f"{path}.{NORM_NAMES[framework][role]}",
                            index,
                            role,
                            () if role == "count" else (size,),
                        )
                    )
        else:
            found += [(f"{path}.{leaf}", index, leaf, tuple(shape)) for leaf, shape in leaves]
    return found


def seeded_state(framework: str, node: dict, seed: int) -> dict[str, np.ndarray]:
    """The arrays the checks write into a net, by ``framework``'s names, drawn from ``seed``.

    The values depend on the layers and roles only, so one seed gives every framework's
    state of a net the same numbers: the truth for a conversion between them.
    """
    gen = np.random.default_rng(seed)
    counts = np.random.default_rng([seed, 1])  # apart: only PyTorch has counts to draw
    state = {}
    for name, _, role, shape in entries(framework, node):
        if role == "count":
            state[name] = np.array(counts.integers(1, 1000), dtype=np.int64)
            continue
        draw = {
            "weight": lambda: gen.normal(size=shape) / np.sqrt(np.prod(shape[1:])),
            "bias": lambda: gen.normal(scale=0.5, size=shape),
            "scale": lambda: gen.uniform(0.5, 2.0, size=shape),
            "shift": lambda: gen.normal(scale=0.5, size=shape),
            "mean": lambda: gen.normal(scale=0.5, size=shape),
            "var": lambda: gen.uniform(0.25, 2.0, size=shape),
        }[role]
        state[name] = draw().astype(np.float32)
    return state


def _by_layer(framework: str, node: dict, state: dict[str, np.ndarray]) -> list[dict]:
    """The arrays of ``state`` layer by layer, by role; a missing statistic takes its initial
    value (running mean 0, variance 1), as in a net that was never given it."""
    found: list[dict] = [
        {"mean": 0.0, "var": 1.0} if kind == "norm" else {}
        for _, kind, _ in layers(framework, node)
    ]
    for name, index, role, _ in entries(framework, node):
        if name in state:
            found[index][role] = np.asarray(state[name], dtype=np.float64)
    return found


def forward(node: dict, params: list[dict], X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The net's output on ``X`` in inference mode, in numpy: the independent reference.

    Also the same pass on absolute values, a bound of every partial sum: float32 rounding
    stays far below :data:`TOLERANCE` of it.
    """
    x = np.asarray(X, dtype=np.float64)
    out, bound = _forward(node, iter(params), x, np.abs(x))
    return out, bound


def _forward(node: dict, params: Any, x: np.ndarray, bound: np.ndarray) -> tuple:
    kind = node["kind"]
    if kind in ("sequential", "chain"):
        for child in node["children"]:
            x, bound = _forward(child, params, x, bound)
        return x, bound
    if kind == "relu":
        return np.maximum(x, 0), bound
    if kind == "flatten":
        return x.reshape(len(x), -1), bound.reshape(len(x), -1)
    p = next(params)
    if kind == "dense":
        W = p["weight"]
        b = p.get("bias", np.zeros(W.shape[0]))
        x, bound = x @ W.T + b, bound @ np.abs(W).T + np.abs(b)
        return (np.maximum(x, 0) if node["relu"] else x), bound
    if kind == "conv":
        W, b = p["weight"], p["bias"]
        k = W.shape[-1]
        windows = np.lib.stride_tricks.sliding_window_view
        x = np.einsum("nchwij,ocij->nohw", windows(x, (k, k), axis=(2, 3)), W)
        bound = np.einsum("nchwij,ocij->nohw", windows(bound, (k, k), axis=(2, 3)), np.abs(W))
        return x + b[:, None, None], bound + np.abs(b)[:, None, None]
    shape = (1, -1) + (1,) * (x.ndim - 2)  # BatchNorm: one number per channel, axis 1
    scale, shift = (
        np.reshape(p.get(role, default), shape)
        for role, default in (("scale", 1.0), ("shift", 0.0))
    )
    mean, var = (np.reshape(p[role], shape) for role in ("mean", "var"))
    spread = np.sqrt(var + EPS)
    return (
        (x - mean) / spread * scale + shift,
        (bound + np.abs(mean)) / spread * np.abs(scale) + np.abs(shift),
    )


def _differs(output: np.ndarray, truth: np.ndarray, bound: np.ndarray) -> bool:
    return output.shape != truth.shape or not bool(
        np.all(np.abs(output - truth) <= TOLERANCE * np.maximum(bound, 1))
    )


# -- the nets ----------------------------------------------------------------------------
def example_mlp() -> dict:
    """The chapter's net: Dense(4 -> 8), BatchNorm(8), ReLU, Dense(8 -> 3)."""
    return _sequential([_dense(8, 4), {"kind": "norm", "size": 8}, {"kind": "relu"}, _dense(3, 8)])


def random_mlp(gen: np.random.Generator) -> tuple[dict, int]:
    """A nested net nobody has seen, with at least one BatchNorm layer, and its input size."""
    while True:
        node, d = random_net(gen)
        if any(kind == "norm" for _, kind, _ in layers("pytorch", node)):
            return node, d


def _norm(size: int, dims: int) -> dict:
    return {"kind": "norm", "size": int(size), "dims": dims}


def example_cnn() -> tuple[dict, list[int]]:
    """A small CNN for 1 x 6 x 6 images, and the shape of its input.

    Conv2d(1 -> 4, 3 x 3), BatchNorm, ReLU, Flatten, Dense(64 -> 8), BatchNorm, ReLU,
    Dense(8 -> 8), ReLU, Dense(8 -> 3). The square dense layer is where a transposed weight
    still fits.
    """
    relu = {"kind": "relu"}
    return _sequential(
        [
            {"kind": "conv", "out": 4, "in": 1, "k": 3},
            _norm(4, 2),
            relu,
            {"kind": "flatten"},
            _dense(8, 64),
            _norm(8, 1),
            relu,
            _dense(8, 8),
            relu,
            _dense(3, 8),
        ]
    ), [1, 6, 6]


def random_cnn(gen: np.random.Generator, full: bool = False) -> tuple[dict, list[int]]:
    """A CNN nobody has seen: one or two convolutions, BatchNorm after the first and maybe
    elsewhere, then dense layers, one of them square. Each layer is one child of the net,
    ReLUs too, so its names have the same structure in every framework. ``full``: two
    convolutions and a BatchNorm layer after each, and after the first dense layer, so that
    BatchNorm sits where it does not in the example."""
    relu = {"kind": "relu"}
    channels, size = int(gen.integers(1, 4)), int(gen.integers(5, 8))
    shape = [channels, size, size]
    children: list[dict] = []
    for block in range(2 if full else int(gen.integers(1, 3))):
        out, k = int(gen.integers(2, 6)), int(gen.integers(1, min(3, size - 2) + 1))
        children.append({"kind": "conv", "out": out, "in": channels, "k": k})
        if full or block == 0 or gen.random() < 0.6:
            children.append(_norm(out, 2))
        children.append(relu)
        channels, size = out, size - k + 1
    hidden = int(gen.integers(3, 9))
    children += [{"kind": "flatten"}, _dense(hidden, channels * size * size)]
    if full or gen.random() < 0.6:
        children.append(_norm(hidden, 1))
    children += [relu, _dense(hidden, hidden), relu, _dense(int(gen.integers(2, 6)), hidden)]
    return _sequential(children), shape


def _seed(gen: np.random.Generator) -> int:
    return int(gen.integers(2**32))


# -- reading what a learner's function returned ------------------------------------------
def _plain_state(value: Any, framework: str, head: str) -> dict[str, np.ndarray]:
    """A learner's state as a dict of numpy arrays, or a plain-words failure."""
    expect(
        isinstance(value, dict),
        f"{head} should return a dict from names to numpy arrays; got {type(value).__name__}",
    )
    expect(
        len(value) <= _MAX_ENTRIES,
        f"{head} returned {len(value)} entries; the net has far " f"fewer",
    )
    fw, found, total = get(framework), {}, 0
    for name, array in value.items():
        expect(
            isinstance(name, str),
            f"{head} should use the names as keys (strings); got the " f"key {name!r}",
        )
        if not isinstance(array, np.ndarray):
            hint = (
                f" — turn each {fw.title} tensor into numpy ({_TO_NUMPY[fw.key]})"
                if fw.is_tensor(array) or fw.is_parameter(array)
                else ""
            )
            fail(
                f"{head} should map each name to a numpy array; {name!r} maps to "
                f"{type(array).__name__}{hint}"
            )
        expect(
            array.dtype.kind in "biuf",
            f"{head}[{name!r}] holds {array.dtype} values, not " f"numbers",
        )
        total += array.size
        expect(total <= _MAX_VALUES, f"{head} returned more numbers than the net holds")
        kind = array.dtype.kind
        found[name] = (
            array.astype(np.float64)
            if kind == "f" and array.dtype != np.float32
            else array.astype(np.int64)
            if kind in "iu"
            else array
        )
    return found


_TO_NUMPY = {
    "pytorch": "tensor.numpy()",
    "mxnet": "array.asnumpy()",
    "mindspore": "tensor.asnumpy()",
}


def _read_state(value: Any) -> dict[str, np.ndarray]:
    require(isinstance(value, dict))
    for name, array in value.items():
        require(isinstance(name, str) and isinstance(array, np.ndarray))
    return value


def _names(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _equal(got: np.ndarray, want: np.ndarray) -> bool:
    return got.shape == want.shape and bool(
        np.array_equal(got.astype(np.float64), want.astype(np.float64))
    )


# -- Part A: the state as numpy arrays ---------------------------------------------------
def _to_numpy_specs(framework: str) -> list[Spec]:
    """``to_numpy_state(net)`` of the chapter's net: every entry of its checkpoint, BatchNorm's
    running statistics included, by the framework's own names, as numpy arrays."""
    return [{"net": example_mlp(), "d": 4, "seed": _seed(rng())}]


def _to_numpy_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_to_numpy_state`` on random nested nets with BatchNorm."""
    gen = rng()
    return [
        {"net": node, "d": d, "seed": _seed(gen)}
        for node, d in (random_mlp(gen) for _ in range(trials))
    ]


def _probe_to_numpy(to_numpy_state: Callable, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    net = build(fw, spec["net"], spec["d"])
    missing, unexpected = fw.load_state(net, seeded_state(framework, spec["net"], spec["seed"]))
    expect(
        not missing and not unexpected,
        "the check could not set up its net (names "
        f"{_names(missing + unexpected)}); please report this",
    )
    head = "to_numpy_state(net)"
    return {"state": _plain_state(call(to_numpy_state, net, shown="net"), framework, head)}


def _judge_to_numpy(framework: str, spec: Spec, data: dict) -> str | None:
    truth = seeded_state(framework, spec["net"], spec["seed"])
    got = _read_state(data["state"])
    head = "to_numpy_state(net)"
    message = _names_failure(framework, spec["net"], truth, got, head)
    if message is not None:
        return message
    for name, want in truth.items():
        if got[name].shape != want.shape:
            return (
                f"{head}[{name!r}] has shape {got[name].shape}; the net's entry has shape "
                f"{want.shape}"
            )
        if not _equal(got[name], want):
            return (
                f"{head}[{name!r}] holds other values than the net's {name} — does it read "
                f"the net it is given?"
            )
    return None


def _names_failure(framework: str, node: dict, truth: dict, got: dict, head: str) -> str | None:
    """What is wrong with the names of a state that should hold exactly those of ``truth``."""
    roles = {name: role for name, _, role, _ in entries(framework, node)}
    missing = [name for name in truth if name not in got]
    extra = [name for name in got if name not in truth]
    statistics = [name for name in missing if roles[name] in STATISTICS]
    title = FRAMEWORK_NAMES[framework]
    if framework == "mxnet" and extra and all("_" in name and "." not in name for name in extra):
        return (
            f"{head} uses names such as {extra[0]!r}: those are collect_params()' names, "
            f"which count the layers the kernel has built; use the names save_parameters "
            f"writes, which follow the net's structure (such as {next(iter(truth))!r})"
        )
    if statistics and len(statistics) == len(missing):
        return (
            f"{head} leaves out BatchNorm's running statistics ({_names(statistics)}): "
            f"{_WHY_STATISTICS[framework]}"
        )
    if missing:
        return (
            f"{head} has no entry {_names(missing)}; a {title} checkpoint of this net "
            f"holds {_names(list(truth), 6)} ({_EVERY_ENTRY[framework]})"
        )
    if extra:
        return f"{head} has entries that are not in the net's checkpoint: {_names(extra)}"
    return None


TO_NUMPY = Question("portability.to_numpy_state", _probe_to_numpy, _judge_to_numpy)
check_to_numpy_state = TO_NUMPY.check_function("check_to_numpy_state", "public", _to_numpy_specs)
check_to_numpy_state_random = TO_NUMPY.check_function(
    "check_to_numpy_state_random", "random", _to_numpy_random_specs
)


# -- Part A: and back ---------------------------------------------------------------------
def _from_numpy_specs(framework: str) -> list[Spec]:
    """``from_numpy_state(net, state)`` loads every array of ``state`` into a fresh net of the
    same build, which then predicts exactly what the state's values give."""
    gen = rng()
    return [{"net": example_mlp(), "d": 4, "seed": _seed(gen), "X": gen.normal(size=(5, 4))}]


def _from_numpy_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_from_numpy_state`` on random nested nets with BatchNorm."""
    gen = rng()
    return [
        {"net": node, "d": d, "seed": _seed(gen), "X": gen.normal(size=(5, d))}
        for node, d in (random_mlp(gen) for _ in range(trials))
    ]


def _probe_from_numpy(from_numpy_state: Callable, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    net = build(fw, spec["net"], spec["d"])
    state = seeded_state(framework, spec["net"], spec["seed"])
    call(from_numpy_state, net, state, shown="net, state")
    return {"state": fw.state(net), "output": fw.predict(net, spec["X"])}


def _judge_from_numpy(framework: str, spec: Spec, data: dict) -> str | None:
    node = spec["net"]
    truth = seeded_state(framework, node, spec["seed"])
    loaded = _read_state(data["state"])
    require(set(loaded) == set(truth))
    head = "from_numpy_state(net, state)"
    roles = {name: role for name, _, role, _ in entries(framework, node)}
    left = [name for name, want in truth.items() if not _equal(loaded[name], want)]
    statistics = [name for name in left if roles[name] in STATISTICS]
    if left and len(statistics) == len(left):
        return (
            f"{head} did not load BatchNorm's running statistics ({_names(statistics)}), "
            f"so the net normalizes with other statistics than the state's: "
            f"{_WHY_STATISTICS[framework]}"
        )
    if left:
        return (
            f"{head} left {_names(left)} of the net with other values than the state's "
            f"(every entry should be loaded: {_EVERY_ENTRY[framework]})"
        )
    output = data["output"]
    require(isinstance(output, np.ndarray))
    truth_out, bound = forward(node, _by_layer(framework, node, truth), spec["X"])
    if _differs(output, truth_out, bound):
        return (
            f"{head}: the loaded net's outputs in inference mode are not those its state "
            f"gives — does from_numpy_state change the net in another way?"
        )
    return None


FROM_NUMPY = Question("portability.from_numpy_state", _probe_from_numpy, _judge_from_numpy)
check_from_numpy_state = FROM_NUMPY.check_function(
    "check_from_numpy_state", "public", _from_numpy_specs
)
check_from_numpy_state_random = FROM_NUMPY.check_function(
    "check_from_numpy_state_random", "random", _from_numpy_random_specs
)


# -- Part B: another framework's names ----------------------------------------------------
def _convert_spec(
    gen: np.random.Generator, node: dict, shape: list[int], source: str, target: str
) -> Spec:
    return {
        "net": node,
        "shape": shape,
        "seed": _seed(gen),
        "source": source,
        "target": target,
        "X": gen.normal(size=(3, *shape)),
    }


def _convert_specs(framework: str) -> list[Spec]:
    """``convert_names(state, source, target)`` renames a small CNN's state from each other
    framework into this one's names, and from this one into each other's."""
    gen = rng()
    node, shape = example_cnn()
    others = [other for other in FRAMEWORKS if other != framework]
    pairs = [(other, framework) for other in others] + [(framework, other) for other in others]
    return [_convert_spec(gen, node, shape, source, target) for source, target in pairs]


def _convert_random_specs(framework: str, trials: int = 4) -> list[Spec]:
    """``check_convert_names`` on random CNNs between random pairs of frameworks: the first
    trial into this framework's names, on a CNN with BatchNorm in three places, the second
    out of this framework's names."""
    gen = rng()
    specs = []
    for trial in range(trials):
        source, target = (str(name) for name in gen.choice(FRAMEWORKS, size=2, replace=False))
        if trial == 0 and target != framework:
            source, target = (source if source != framework else target), framework
        elif trial == 1 and source != framework:
            source, target = framework, (target if target != framework else source)
        node, shape = random_cnn(gen, full=trial == 0)
        specs.append(_convert_spec(gen, node, shape, source, target))
    return specs


def _probe_convert(convert_names: Callable, framework: str, spec: Spec) -> dict:
    source, target, node = spec["source"], spec["target"], spec["net"]
    head = f"convert_names(state, {source!r}, {target!r})"
    state = seeded_state(source, node, spec["seed"])
    got = _plain_state(
        call(convert_names, state, source, target, shown=f"state, {source!r}, {target!r}"),
        framework,
        head,
    )
    data: dict[str, Any] = {"state": got}
    if target == framework:  # the converted state, loaded into a net of this framework
        fw = get(framework)
        net = build(fw, node)
        try:
            missing, unexpected = fw.load_state(net, got)
        except ValueError as error:
            data["load"] = str(error)
        else:
            data.update(missing=missing, unexpected=unexpected, logits=fw.predict(net, spec["X"]))
    return data


def _judge_convert(framework: str, spec: Spec, data: dict) -> str | None:
    source, target, node = spec["source"], spec["target"], spec["net"]
    require(source in FRAMEWORKS and target in FRAMEWORKS)
    head = f"convert_names(state, {source!r}, {target!r})"
    Source, Target = FRAMEWORK_NAMES[source], FRAMEWORK_NAMES[target]
    got = _read_state(data["state"])
    want = seeded_state(target, node, spec["seed"])
    truth, bound = forward(
        node, _by_layer(source, node, seeded_state(source, node, spec["seed"])), spec["X"]
    )
    where = {name: (index, role) for name, index, role, _ in entries(target, node)}
    source_name = {(index, role): name for name, index, role, _ in entries(source, node)}
    optional = {name for name, (_, role) in where.items() if role == "count"}
    for name in got:
        if name in want:
            continue
        layer, _, leaf = name.rpartition(".")
        if leaf == "num_batches_tracked":
            return (
                f"{head} keeps {name}, PyTorch's count of training passes, which has no "
                f"counterpart in {Target}: leave it out"
            )
        return (
            f"{head}: {Target} has no entry {name!r} in a net of this build"
            f"{_hint(target, node, layer)}"
        )
    missing = [name for name in want if name not in got and name not in optional]
    statistics = [name for name in missing if where[name][1] in STATISTICS]
    if statistics:
        message = (
            f"{head} leaves out BatchNorm's running statistics ({_names(statistics)}): "
            f"without them the {Target} net would normalize with a running mean of 0 "
            f"and a variance of 1"
        )
        if len(statistics) == len(missing) and _fits(got, want):
            without, _ = forward(node, _by_layer(target, node, got), spec["X"])
            message += f", and its logits would be off by up to {np.abs(without - truth).max():.2g}"
        return message
    if missing:
        return f"{head} has no entry {_names(missing)}, which the {Target} net needs"
    for name, array in want.items():
        if name not in got or name in optional:  # PyTorch's count may start anywhere
            continue
        value, origin = got[name], source_name[where[name]]
        if value.ndim == 2 and (
            value.shape == array.shape[::-1] != array.shape
            or _equal(value, array.T)
            and not _equal(value, array)
        ):
            return (
                f"{head}[{name!r}] is {Source}'s {origin} transposed: a dense weight is "
                f"(outputs, inputs) in all three frameworks, so it moves as it is"
            )
        if value.shape != array.shape:
            return (
                f"{head}[{name!r}] has shape {value.shape}; {Target}'s {name} has shape "
                f"{array.shape}, as {Source}'s {origin} does"
            )
        if not _equal(value, array):
            return (
                f"{head}[{name!r}] should hold the values of {Source}'s {origin}"
                f"{_whose(source, node, spec['seed'], value)}"
            )
    logits, _ = forward(node, _by_layer(target, node, got), spec["X"])
    if _differs(logits, truth, bound):  # the arrays are right: this cannot fail, but says so
        return f"{head}: the converted state gives other logits than the source"
    if "load" in data:
        require(isinstance(data["load"], str))
        return f"{head}: loading it into a {Target} net failed: {data['load']}"
    if "logits" in data:
        require(isinstance(data["logits"], np.ndarray))
        if _differs(data["logits"], truth, bound):
            return (
                f"{head}: loaded into a {Target} net, the converted state gives logits up to "
                f"{np.abs(data['logits'] - truth).max():.2g} away from the source's"
            )
    return None


def _hint(target: str, node: dict, layer: str) -> str:
    """Which name of the layer was meant, when the layer is a BatchNorm layer of the net."""
    norms = {
        name.rpartition(".")[0] for name, _, role, _ in entries(target, node) if role == "mean"
    }
    if layer not in norms:
        return ""
    names = NORM_NAMES[target]
    return (
        f": in a BatchNorm layer {FRAMEWORK_NAMES[target]} names its arrays "
        f"{', '.join(names[role] for role in ('scale', 'shift', 'mean', 'var'))}"
    )


def _whose(source: str, node: dict, seed: int, value: np.ndarray) -> str:
    """``; it holds those of X`` when the array came from another entry of the source."""
    for name, array in seeded_state(source, node, seed).items():
        if _equal(value, array):
            return f"; it holds those of {name}"
    return ""


def _fits(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> bool:
    """Every array of ``got`` has the shape the net wants: numpy can run it."""
    return all(name not in want or got[name].shape == want[name].shape for name in got)


CONVERT = Question("portability.convert_names", _probe_convert, _judge_convert)
check_convert_names = CONVERT.check_function("check_convert_names", "public", _convert_specs)
check_convert_names_random = CONVERT.check_function(
    "check_convert_names_random", "random", _convert_random_specs
)
