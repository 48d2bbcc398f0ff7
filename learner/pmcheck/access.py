"""Checks for the "access" assignment: the names, shapes and identity of a net's parameters.

The nets the checks use are drawn on the judging side as plain descriptions (trees of
dicts, below) and built in the learner's kernel with the framework adapter. The judge
knows from the description alone what the framework names every parameter and its
shape (MXNet numbers its layers with a kernel-wide counter, so there it checks the names'
form, layer by layer). Identity -- "the bias object itself", "model.weight1 is the
registered parameter" -- is checked with random values from a seed in the spec: written
through one object by the probe, read back through the other.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from pmcheck.common import as_shape, call, fail, rng, shape_text
from pmcheck.frameworks import Framework, get
from pmcheck.question import Question, Spec, require

#: How one might list only the parameters that are trained, for the hints.
_TRAINABLE_ONLY = {
    "pytorch": "filtering on requires_grad",
    "mxnet": "a filter such as collect_params('.*weight|.*bias')",
    "mindspore": "trainable_params()",
}

#: Attribute names for the custom blocks of the random nets.
_CHILD_NAMES = ("encoder", "body", "mixer", "proj", "head", "stem", "trunk", "neck")

#: Where each framework keeps every parameter of a net, for the hints.
_ALL_PARAMETERS = {
    "pytorch": "net.named_parameters()",
    "mxnet": "net.collect_params()",
    "mindspore": "net.parameters_and_names()",
}

#: The parameters of a BatchNorm layer, by the name each framework gives them inside it
#: (PyTorch keeps running_mean and running_var as buffers, not parameters).
_NORM_LEAVES = {
    "pytorch": ("weight", "bias"),
    "mxnet": ("gamma", "beta", "running_mean", "running_var"),
    "mindspore": ("moving_mean", "moving_variance", "gamma", "beta"),
}

#: An MXNet parameter's name: its layer's prefix (kind and counter), then its own name.
_MXNET_NAME = re.compile(
    r"(dense|batchnorm)(\d+)_(weight|bias|gamma|beta|running_mean|running_var)"
)
#: The prefix MXNet gives each kind of layer of a net description.
_MXNET_PREFIX = {"dense": "dense", "norm": "batchnorm"}

#: Most entries the probe reads from a learner's dict (a net here has at most ~100 parameters).
_MAX_ENTRIES = 1000
#: Most values the probe sends of one returned object or parameter.
_MAX_VALUES = 10_000


# -- the nets the checks use, described as plain data -------------------------------------
# A node is {"kind": "dense", "out": 8, "in": 4, "bias": True, "relu": False},
# {"kind": "relu"}, {"kind": "norm", "size": 6} (with "dims": 2, over image channels),
# {"kind": "conv", "out": 4, "in": 1, "k": 3} (no padding, with a bias), {"kind": "flatten"},
# {"kind": "sequential", "children": [...]} or {"kind": "chain", "names": [...],
# "children": [...]} (a custom block holding its children as attributes of those names).
def _dense(out: int, in_: int, *, bias: bool = True, relu: bool = False) -> dict:
    return {"kind": "dense", "out": int(out), "in": int(in_), "bias": bias, "relu": relu}


def _hidden(framework: str, out: int, in_: int) -> list[dict]:
    """A dense layer and its ReLU, as the framework's examples write them (MXNet folds it in)."""
    if get(framework).step == 1:
        return [_dense(out, in_, relu=True)]
    return [_dense(out, in_), {"kind": "relu"}]


def _sequential(children: list[dict]) -> dict:
    return {"kind": "sequential", "children": children}


def _chain(named: dict[str, dict]) -> dict:
    return {"kind": "chain", "names": list(named), "children": list(named.values())}


def example_mlp(framework: str) -> dict:
    """The chapter's first net: 4 -> 8 -> 1 with a ReLU between."""
    return _sequential(_hidden(framework, 8, 4) + [_dense(1, 8)])


def rgnet(framework: str, d: int = 4, h: int = 8, n_blocks: int = 4, out: int = 1) -> dict:
    """The chapter's nested net: ``n_blocks`` blocks of (d -> h -> d), then a d -> out layer."""
    blocks = [
        _sequential(_hidden(framework, h, d) + _hidden(framework, d, h)) for _ in range(n_blocks)
    ]
    if framework == "pytorch":
        # The PyTorch edition names its blocks "block 0", "block 1", ...
        body = _chain({f"block {i}": block for i, block in enumerate(blocks)})
    else:
        body = _sequential(blocks)
    return _sequential([body, _dense(out, d)])


def custom_net() -> dict:
    """A net with a custom block, BatchNorm and a layer without bias, for 3 input features."""
    encoder = _sequential([_dense(6, 3), {"kind": "relu"}, {"kind": "norm", "size": 6}])
    return _sequential(
        [_chain({"encoder": encoder, "head": _dense(2, 6, bias=False)}), _dense(5, 2)]
    )


def random_net(gen: np.random.Generator) -> tuple[dict, int]:
    """A net nobody has seen, and its input size: blocks nested three to four levels deep."""
    d = int(gen.integers(2, 10))
    body, width = _random_container(gen, d, depth=3)
    return _sequential([body, _dense(int(gen.integers(1, 5)), width)]), d


def _random_block(gen: np.random.Generator, d: int, depth: int) -> tuple[dict, int]:
    kind = "dense" if depth == 0 else gen.choice(["dense", "dense", "norm", "container"])
    if kind == "container":
        return _random_container(gen, d, depth)
    if kind == "norm":
        return {"kind": "norm", "size": d}, d
    out = int(gen.integers(2, 17))
    return _dense(out, d, bias=bool(gen.random() < 0.75), relu=bool(gen.random() < 0.5)), out


def _random_container(gen: np.random.Generator, d: int, depth: int) -> tuple[dict, int]:
    children = []
    for k in range(int(gen.integers(1, 4))):
        # The first child of a container is a container itself while depth allows, so
        # every random net nests blocks at least `depth` levels deep.
        if k == 0 and depth > 1:
            child, d = _random_container(gen, d, depth - 1)
        else:
            child, d = _random_block(gen, d, depth - 1)
        children.append(child)
    if gen.random() < 0.5:
        return _sequential(children), d
    names = gen.choice(_CHILD_NAMES, size=len(children), replace=False)
    return _chain(dict(zip(names.tolist(), children))), d


def build(fw: Framework, node: dict, d: int | None = None) -> Any:
    """The net ``node`` describes, built with the framework, every shape known (d features).

    Without ``d`` no data goes through: every layer is given its input size.
    """
    net = _build(fw, node)
    if d is None:
        fw.initialize(net)
    else:
        fw.ready(net, d)
    return net


def _build(fw: Framework, node: dict) -> Any:
    kind = node["kind"]
    if kind == "dense":
        return fw.dense(node["out"], node["in"], bias=node["bias"], relu=node["relu"])
    if kind == "relu":
        return fw.relu()
    if kind == "norm":
        return (fw.batchnorm2d if node.get("dims") == 2 else fw.batchnorm)(node["size"])
    if kind == "conv":
        return fw.conv2d(node["out"], node["in"], node["k"])
    if kind == "flatten":
        return fw.flatten()
    children = [_build(fw, child) for child in node["children"]]
    if kind == "chain":
        return fw.chain(dict(zip(node["names"], children)))
    return fw.sequential(children)


def layers(
    framework: str, node: dict, path: tuple[str, ...] = ()
) -> list[tuple[str, str, list[tuple[str, tuple]]]]:
    """``(path, kind, [(name, shape), ...])`` for each layer with parameters, in order.

    The path is where the layer sits, as PyTorch and MindSpore join it into the names of its
    parameters (``"0.encoder.0"``); each parameter is named inside its layer by the
    framework's own word for it (a dense ``weight`` is (out, in)). The tests check this
    against every framework's own list of a net's parameters.
    """
    kind = node["kind"]
    if kind == "dense":
        out, in_ = node["out"], node["in"]
        if node["relu"] and framework != "mxnet":
            path += ("0",)  # PyTorch and MindSpore: a Sequential of the layer and its ReLU
        leaves = [("weight", (out, in_))] + ([("bias", (out,))] if node["bias"] else [])
        return [(".".join(path), kind, leaves)]
    if kind == "norm":
        return [
            (".".join(path), kind, [(leaf, (node["size"],)) for leaf in _NORM_LEAVES[framework]])
        ]
    if kind == "conv":
        out, k = node["out"], node["k"]
        return [(".".join(path), kind, [("weight", (out, node["in"], k, k)), ("bias", (out,))])]
    if kind in ("relu", "flatten"):
        return []
    children = node["children"]
    names = node["names"] if kind == "chain" else [str(i) for i in range(len(children))]
    return [
        layer
        for name, child in zip(names, children)
        for layer in layers(framework, child, path + (name,))
    ]


def expected_parameters(framework: str, node: dict) -> dict[str, tuple[int, ...]] | None:
    """``{name: shape}`` of every parameter of the net, as PyTorch or MindSpore name them.

    None for MXNet, whose names depend on how many layers the kernel built before.
    """
    if framework == "mxnet":
        return None
    return {
        f"{path}.{leaf}": shape
        for path, _, leaves in layers(framework, node)
        for leaf, shape in leaves
    }


def _verified_truth(framework: str, node: dict, reported: Any) -> dict[str, tuple[int, ...]]:
    """The probe's list of the net's parameters, once it fits what the description implies."""
    truth: dict[str, tuple[int, ...]] = {}
    for name, shape in reported:
        require(isinstance(name, str) and name not in truth and _is_shape(shape))
        truth[name] = tuple(shape)
    expected = expected_parameters(framework, node)
    if expected is not None:
        require(truth == expected)
        return truth
    # MXNet: each layer's parameters share one prefix ("dense12_"), of the layer's kind,
    # and hold exactly the names and shapes of one layer of the description.
    groups: dict[tuple[str, str], list[tuple[str, tuple]]] = {}
    for name, shape in truth.items():
        match = _MXNET_NAME.fullmatch(name)
        require(match is not None)
        groups.setdefault((match[1], match[2]), []).append((match[3], shape))
    got = Counter((prefix, tuple(sorted(leaves))) for (prefix, _), leaves in groups.items())
    want = Counter(
        (_MXNET_PREFIX[kind], tuple(sorted(leaves))) for _, kind, leaves in layers(framework, node)
    )
    require(got == want)
    return truth


def _is_shape(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value
    )


def _kind(fw: Framework, value: Any) -> str:
    if fw.is_parameter(value):
        return "parameter"
    if fw.is_tensor(value):
        return "tensor"
    return "array" if isinstance(value, np.ndarray) else "other"


def _values(fw: Framework, value: Any) -> np.ndarray | None:
    """The values of a parameter, tensor or array (None if unreadable or too many to send)."""
    try:
        array = fw.numpy(value)
    except Exception:  # noqa: BLE001 - whatever it is, it holds no values to compare
        return None
    return array if array.size <= _MAX_VALUES else None


def _seeded(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random values a float32 parameter holds exactly, so a readback compares exactly."""
    return gen.normal(size=shape).astype(np.float32).astype(np.float64)


def _close(got: Any, want: np.ndarray) -> bool:
    return (
        isinstance(got, np.ndarray)
        and got.shape == want.shape
        and bool(np.allclose(got, want, rtol=0, atol=1e-6))
    )


def _seed(gen: np.random.Generator) -> int:
    return int(gen.integers(2**32))


# -- Part A: every parameter's name and shape --------------------------------------------
def _param_shapes_spec(what: str, node: dict, d: int, show_net: bool = False) -> Spec:
    return {"what": what, "net": node, "d": d, "show_net": show_net}


def _param_shapes_examples_specs(framework: str) -> list[Spec]:
    """``param_shapes`` on the chapter's two nets: the MLP and the nested ``rgnet``."""
    return [
        _param_shapes_spec("the chapter's MLP (net)", example_mlp(framework), 4),
        _param_shapes_spec("the nested net rgnet", rgnet(framework), 4),
    ]


def _param_shapes_custom_specs(framework: str) -> list[Spec]:
    """``param_shapes`` on a custom block with BatchNorm and a layer without bias."""
    return [
        _param_shapes_spec(
            "a net with a custom block, BatchNorm and a layer without bias", custom_net(), 3
        )
    ]


def _param_shapes_random_specs(framework: str, trials: int = 5) -> list[Spec]:
    """``param_shapes`` on ``trials`` freshly drawn nets with random nesting and widths."""
    gen = rng()
    return [
        _param_shapes_spec(f"random nested net #{trial + 1}", *random_net(gen), show_net=True)
        for trial in range(trials)
    ]


def _probe_param_shapes(param_shapes: Any, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    net = build(fw, spec["net"], spec["d"])
    data: dict[str, Any] = {
        "truth": [[name, list(fw.shape(p))] for name, p in fw.named_parameters(net).items()]
    }
    if spec["show_net"]:
        data["net"] = str(net)[:2000]  # only ever shown in the message
    got = call(param_shapes, net, shown="net")
    if not isinstance(got, Mapping):
        data["returned"] = f"{type(got).__name__} {_clip(got)}"
        return data
    if len(got) > _MAX_ENTRIES:
        fail(
            f"param_shapes(net) returned a dict of {len(got)} entries, far more than the net "
            f"has parameters"
        )
    data["answer"] = [_entry(key, value) for key, value in got.items()]
    return data


def _entry(key: Any, value: Any) -> dict:
    """One item of the learner's dict as plain data: its key as text, marked when it was not a
    string (such a key never names a parameter), and its value as a shape or described."""
    shape = as_shape(value)
    return {
        "key": key if isinstance(key, str) else repr(key),
        "string": isinstance(key, str),
        "shape": None if shape is None else list(shape),
        "value": None if shape is not None else f"{type(value).__name__} {_clip(value)}",
    }


def _judge_param_shapes(framework: str, spec: Spec, data: dict) -> str | None:
    truth = _verified_truth(framework, spec["net"], data["truth"])
    where = f"for {spec['what']}"
    if spec["show_net"]:
        require(isinstance(data["net"], str))
        where += f":\n{data['net']}\n"
    if "returned" in data:
        require(isinstance(data["returned"], str))
        return (
            f"param_shapes should return a dict {{name: shape}}; {where} it returned "
            f"{data['returned']}"
        )
    entries = data["answer"]
    for entry in entries:
        require(isinstance(entry["key"], str) and isinstance(entry["string"], bool))
        if entry["shape"] is None:
            require(isinstance(entry["value"], str))
            return (
                f"each value should be a shape, a tuple of ints such as (8, 4); {where} the "
                f"value for {_shown(entry)} is {entry['value']}"
            )
        require(_is_shape(entry["shape"]))
    shapes = {entry["key"]: tuple(entry["shape"]) for entry in entries if entry["string"]}
    missing = [name for name in truth if name not in shapes]
    extra = [
        (entry["key"], _shown(entry))
        for entry in entries
        if not entry["string"] or entry["key"] not in truth
    ]
    if missing or extra:
        return _names_message(framework, truth, len(entries), missing, extra, where)
    for name, expected in truth.items():
        if shapes[name] != expected:
            hint = ""
            if shapes[name] == tuple(reversed(expected)):
                hint = " — that is the shape transposed; a dense weight is (out, in)"
            return (
                f"{where} the shape of {name!r} should be {shape_text(expected)}; got "
                f"{shape_text(shapes[name])}{hint}"
            )
    return None


def _shown(entry: dict) -> str:
    """A key of the learner's dict as Python shows it (a string key in quotes)."""
    return repr(entry["key"]) if entry["string"] else entry["key"]


def _names_message(
    framework: str,
    truth: dict,
    count: int,
    missing: list[str],
    extra: list[tuple[str, str]],
    where: str,
) -> str:
    """Why the names are wrong; ``extra`` holds (text, as shown) of each key that is no name."""
    expected = ", ".join(repr(n) for n in list(truth)[:4]) + (", ..." if len(truth) > 4 else "")
    head = f"{where} expected {len(truth)} parameters named {expected}; got {count}"
    every = _ALL_PARAMETERS[framework]
    if not count:
        return (
            f"{head}, an empty dict. The parameters live in the net's children, all the "
            f"way down: {every} walks the whole tree"
        )
    buffers = [
        shown
        for text, shown in extra
        if text.endswith(("running_mean", "running_var", "num_batches_tracked"))
    ]
    if buffers:
        return (
            f"{head}. {buffers[0]} is a buffer, not a parameter: state_dict() holds "
            f"buffers as well as parameters; {every} holds only parameters"
        )
    frozen = [
        n
        for n in missing
        if n.endswith(("moving_mean", "moving_variance", "running_mean", "running_var"))
    ]
    if frozen and not extra:
        return (
            f"{head}; {frozen[0]!r} is missing. It needs no gradient but is still a "
            f"parameter: {_TRAINABLE_ONLY[framework]} leaves it out, {every} does not"
        )
    if missing and not extra:
        return (
            f"{head}; missing {', '.join(repr(n) for n in missing[:3])}"
            + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            + f". Those belong to the net too: {every} walks every nested block"
        )
    if extra and all("." not in text and "_" not in text for text, _ in extra):
        return (
            f"{head}, named {sorted(text for text, _ in extra)}: those are the names "
            f"inside one layer. Return the parameters of the whole net, as {every} names "
            f"them"
        )
    parts = []
    if missing:
        parts.append(
            f"missing {', '.join(repr(n) for n in missing[:3])}"
            + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        )
    if extra:
        parts.append(
            f"not parameters of this net: {', '.join(shown for _, shown in extra[:3])}"
            + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
        )
    return f"{head}; {'; '.join(parts)}. Use the names {every} gives"


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" or word.startswith("ND") else "a ") + word


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


PARAM_SHAPES = Question("access.param_shapes", _probe_param_shapes, _judge_param_shapes)
check_param_shapes_examples = PARAM_SHAPES.check_function(
    "check_param_shapes_examples", "public", _param_shapes_examples_specs
)
check_param_shapes_custom = PARAM_SHAPES.check_function(
    "check_param_shapes_custom", "custom", _param_shapes_custom_specs
)
check_param_shapes_random = PARAM_SHAPES.check_function(
    "check_param_shapes_random", "random", _param_shapes_random_specs
)


# -- Part B: a parameter deep inside a nested net ----------------------------------------
def _block_bias_specs(
    framework: str, *, n_blocks: int = 4, index: int = 1, d: int = 4, h: int = 8
) -> list[Spec]:
    """``block_bias(rgnet, index)`` is the bias object of block ``index``'s first layer.

    The probe writes random values (from the spec's seed) into every weight and bias of the
    rgnet before the call; the values of what comes back say which parameter it is, and a
    value written through it must show in block ``index``'s first bias.
    """
    return [{"n_blocks": n_blocks, "index": index, "d": d, "h": h, "seed": _seed(rng())}]


def _block_bias_random_specs(framework: str, trials: int = 5) -> list[Spec]:
    """``check_block_bias`` on ``trials`` rgnets with random block counts, sizes and index.

    No two consecutive trials ask for the same block, so no fixed index passes them all.
    """
    gen = rng()
    specs: list[Spec] = []
    previous = None
    for _ in range(trials):
        n_blocks = int(gen.integers(3, 7))
        index = int(gen.choice([i for i in range(n_blocks) if i != previous]))
        previous = index
        specs += _block_bias_specs(
            framework,
            n_blocks=n_blocks,
            index=index,
            d=int(gen.integers(2, 10)),
            h=int(gen.integers(9, 17)),
        )
    return specs


def _rgnet_values(spec: Spec) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """The (weight, bias) the probe writes into each dense layer of the rgnet, in order
    (block 0's two layers, block 1's, ..., the output layer), and the value it then writes
    through the returned object."""
    gen = np.random.default_rng(spec["seed"])
    d, h = spec["d"], spec["h"]
    sizes = [(h, d), (d, h)] * spec["n_blocks"] + [(1, d)]
    values = [(_seeded(gen, (out, in_)), _seeded(gen, (out,))) for out, in_ in sizes]
    return values, _seeded(gen, (h,))


def _dense_index(spec: Spec, place: list) -> int:
    """Where ``[block, layer, kind]`` sits among the rgnet's dense layers (block None: output)."""
    block, layer, kind = place
    require(kind in ("weight", "bias"))
    if block is None:
        require(layer == 0)
        return 2 * spec["n_blocks"]
    require(isinstance(block, int) and 0 <= block < spec["n_blocks"] and layer in (0, 1))
    return 2 * block + layer


def _probe_block_bias(block_bias: Any, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    n_blocks, index = spec["n_blocks"], spec["index"]
    net = build(fw, rgnet(framework, spec["d"], spec["h"], n_blocks), spec["d"])
    dense = [
        (b, k, layer) for b in range(n_blocks) for k, layer in enumerate(fw.dense_layers(net[0][b]))
    ]
    dense.append((None, 0, fw.dense_layers(net)[-1]))
    values, fresh = _rgnet_values(spec)
    places: dict[int, list] = {}
    for (block, k, layer), (weight, bias) in zip(dense, values):
        fw.set_numpy(fw.weight(layer), weight)
        fw.set_numpy(fw.bias(layer), bias)
        places[id(fw.weight(layer))] = [block, k, "weight"]
        places[id(fw.bias(layer))] = [block, k, "bias"]
    names = {id(p): name for name, p in fw.named_parameters(net).items()}
    want = fw.bias(fw.dense_layers(net[0][index])[0])
    got = call(block_bias, net, index, shown=f"rgnet, {index}")
    kind = _kind(fw, got)
    data = {
        "kind": kind,
        "type": type(got).__name__,
        "text": _clip(got),
        "values": None if kind == "other" else _values(fw, got),
        "place": places.get(id(got)),
        "name": names.get(id(got)),
        "want": names[id(want)],
        "readback": None,
    }
    if kind == "parameter":
        try:
            fw.set_numpy(got, fresh)
        except Exception:  # noqa: BLE001 - a parameter of another shape: the bias keeps its values
            pass
        data["readback"] = fw.numpy(want)
    return data


def _judge_block_bias(framework: str, spec: Spec, data: dict) -> str | None:
    fw = get(framework)
    n_blocks, index, d, h = spec["n_blocks"], spec["index"], spec["d"], spec["h"]
    values, fresh = _rgnet_values(spec)
    want_place = [index, 0, "bias"]
    target = values[_dense_index(spec, want_place)][1]
    same = _close(data["values"], target)
    place = data["place"]
    if data["kind"] == "parameter" and place == want_place and same:
        # The object holds that bias's values; a value written through it must show there.
        require(_close(data["readback"], fresh))
        return None
    want_name = _rgnet_name(framework, spec, want_place, data["want"])
    head = (
        f"block_bias(rgnet, {index}) on an rgnet of {n_blocks} blocks (d={d}, h={h}) "
        f"should return the bias of the first layer of block {index}, the parameter "
        f"{want_name!r} of shape {shape_text((h,))}"
    )
    if place is not None:
        require(isinstance(place, list) and len(place) == 3)
        if place == want_place:
            return (
                f"{head}; it returned that parameter, but holding other values than the "
                f"check wrote into it: block_bias should not change the net"
            )
        weight, bias = values[_dense_index(spec, place)]
        block, layer, kind = place
        require(_close(data["values"], bias if kind == "bias" else weight))
        got_name = _rgnet_name(framework, spec, place, data["name"])
        hint = ""
        if kind == "weight":
            hint = " — a weight, not the bias"
        elif block == index:
            hint = (
                f" — another layer of the right block; the first layer of block {index} "
                f"is rgnet[0][{index}][0]"
            )
        elif block in (index - 1, index + 1) and layer == 0:
            hint = " — the neighbouring block: blocks are numbered from 0"
        where = "the output layer" if block is None else f"layer {layer} of block {block}"
        return f"{head}; got the {kind} of {where}, {got_name!r}{hint}"
    require(isinstance(data["type"], str) and isinstance(data["text"], str))
    if data["kind"] in ("tensor", "array"):
        return (
            f"{head}; got {_article(data['type'])}"
            f"{' with the right values' if same else ''} "
            f"instead of the parameter itself. .data / .data() / .value() give the values; "
            f"return the {fw.parameter_class} object, which also carries the gradient"
        )
    return f"{head}; got {data['type']} {data['text']}"


def _rgnet_name(framework: str, spec: Spec, place: list, reported: Any) -> str:
    """The framework's name of the rgnet's parameter at ``place``, checking the probe's.

    PyTorch and MindSpore name it by its path; MXNet by a kernel-wide counter, so there only
    the name's form is checked (it is only ever shown).
    """
    kind = place[2]
    if framework == "mxnet":
        require(
            isinstance(reported, str) and re.fullmatch(rf"dense\d+_{kind}", reported) is not None
        )
        return reported
    node = rgnet(framework, spec["d"], spec["h"], spec["n_blocks"])
    paths = [path for path, layer, _ in layers(framework, node) if layer == "dense"]
    name = f"{paths[_dense_index(spec, place)]}.{kind}"
    require(reported == name)
    return name


BLOCK_BIAS = Question("access.block_bias", _probe_block_bias, _judge_block_bias)
check_block_bias = BLOCK_BIAS.check_function("check_block_bias", "public", _block_bias_specs)
check_block_bias_random = BLOCK_BIAS.check_function(
    "check_block_bias_random", "random", _block_bias_random_specs
)


# -- Part C: one registered parameter, one plain tensor ----------------------------------
_REGISTER_HINT = {
    "pytorch": "weight1 must be an nn.Parameter: a plain tensor attribute is not registered",
    "mxnet": (
        "in Gluon 1.x create weight1 with self.params.get('weight1', shape=(n, n)): a "
        "gluon.Parameter merely stored as an attribute is not collected by "
        "collect_params()"
    ),
    "mindspore": "weight1 must be a mindspore.Parameter: a plain Tensor attribute is not one",
}


def _my_model_specs(framework: str, n: int = 20) -> list[Spec]:
    """``MyModel(n)`` registers exactly one parameter, weight1 (n, n); weight2 stays a tensor.

    The probe writes random values (from the spec's seed) into the registered parameter and
    reads them back through ``model.weight1``.
    """
    return [{"n": int(n), "seed": _seed(rng())}]


def _my_model_random_specs(framework: str, trials: int = 3) -> list[Spec]:
    """``check_my_model`` for sizes drawn at random (never the example's 20)."""
    gen = rng()
    return [
        spec
        for n in gen.choice([k for k in range(2, 40) if k != 20], size=trials, replace=False)
        for spec in _my_model_specs(framework, int(n))
    ]


def _model_values(spec: Spec, shape: tuple[int, ...]) -> np.ndarray:
    return _seeded(np.random.default_rng(spec["seed"]), shape)


def _readable(shape: tuple[int, ...] | None) -> bool:
    """Whether the probe writes and reads back values of a parameter of this shape."""
    return shape is not None and 0 not in shape and math.prod(shape) <= _MAX_VALUES


def _probe_my_model(MyModel: Any, framework: str, spec: Spec) -> dict:
    fw = get(framework)
    n = spec["n"]
    model = call(MyModel, n, shown=str(n))
    params = fw.named_parameters(model)
    prefix = getattr(model, "prefix", "") if fw.key == "mxnet" else ""
    short = {
        name[len(prefix) :] if name.startswith(prefix) else name: p for name, p in params.items()
    }
    attribute = getattr(model, "weight1", None)
    data: dict[str, Any] = {"names": list(short), "type1": type(attribute).__name__}
    if list(short) != ["weight1"]:
        return data
    weight1 = short["weight1"]
    shape1 = fw.shape(weight1)
    data.update(
        shape1=None if shape1 is None else list(shape1), same=attribute is weight1, readback=None
    )
    if data["same"] and _readable(shape1):
        if fw.key == "mxnet":
            model.initialize()  # Gluon holds no values before; a no-op if already done
        fw.set_numpy(weight1, _model_values(spec, shape1))
        data["readback"] = fw.numpy(model.weight1)
    data["has2"] = hasattr(model, "weight2")
    if data["has2"]:
        weight2 = model.weight2
        data.update(kind2=_kind(fw, weight2), type2=type(weight2).__name__)
        if data["kind2"] == "tensor":
            data["shape2"] = [int(s) for s in weight2.shape]
    return data


def _judge_my_model(framework: str, spec: Spec, data: dict) -> str | None:
    fw = get(framework)
    n = spec["n"]
    names = data["names"]
    require(isinstance(names, list) and all(isinstance(name, str) for name in names))
    head = f"MyModel({n}) should register exactly one parameter, weight1"
    if not names:
        return f"{head}; it registers none — {_REGISTER_HINT[fw.key]}"
    if "weight2" in names:
        return (
            f"{head}; weight2 is registered too — it must stay a plain tensor: wrapping it "
            f"in {fw.parameter_class} makes it a parameter the optimizer would train"
        )
    if names != ["weight1"]:
        return f"{head}; it registers {sorted(names)}"
    shape1 = data["shape1"]
    require(shape1 is None or _is_shape(shape1))
    shape1 = None if shape1 is None else tuple(shape1)
    # model.weight1 is the registered parameter if what was written into the one shows
    # through the other (a parameter of a shape too large to read fails on its shape below).
    read = not _readable(shape1) or _close(data["readback"], _model_values(spec, shape1))
    if data["same"] is not True or not read:
        require(isinstance(data["type1"], str))
        return (
            f"{head}, stored as the attribute model.weight1; model.weight1 is "
            f"{data['type1']}, not the registered parameter"
        )
    if shape1 != (n, n):
        return (
            f"weight1 should have shape ({n}, {n}) for MyModel({n}); got "
            f"{shape_text(shape1)}"
            + (" — is the size hard-coded instead of taken from n?" if shape1 else "")
        )
    if data["has2"] is not True:
        return f"MyModel({n}) should have an attribute weight2"
    if data["kind2"] != "tensor":
        require(isinstance(data["type2"], str))
        return (
            f"model.weight2 should be a plain {fw.title} tensor (not a parameter); got "
            f"{data['type2']}"
        )
    require(_is_shape(data["shape2"]))
    shape2 = tuple(data["shape2"])
    if shape2 != (n, n):
        return (
            f"weight2 should have shape ({n}, {n}) for MyModel({n}); got "
            f"{shape_text(shape2)} — is the size hard-coded instead of taken from n?"
        )
    return None


MY_MODEL = Question("access.my_model", _probe_my_model, _judge_my_model)
check_my_model = MY_MODEL.check_function("check_my_model", "public", _my_model_specs)
check_my_model_random = MY_MODEL.check_function(
    "check_my_model_random", "random", _my_model_random_specs
)
