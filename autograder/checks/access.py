"""Checks for the "access" assignment: the names, shapes and identity of a net's parameters."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from autograder.checks.common import as_shape, call, expect, fail, rng, shape_text
from autograder.checks.frameworks import Framework, get

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


# -- the nets the checks use ------------------------------------------------------------
def example_mlp(fw: Framework) -> Any:
    """The chapter's first net: 4 -> 8 -> 1 with a ReLU between."""
    net = fw.mlp([4, 8, 1])
    fw.ready(net, 4)
    return net


def rgnet(fw: Framework, d: int = 4, h: int = 8, n_blocks: int = 4, out: int = 1) -> Any:
    """The chapter's nested net: ``n_blocks`` blocks of (d -> h -> d), then a d -> out layer."""
    blocks = [fw.sequential(fw.hidden(h, d) + fw.hidden(d, h)) for _ in range(n_blocks)]
    if fw.key == "pytorch":
        # The PyTorch edition names its blocks "block 0", "block 1", ...
        body = fw.chain({f"block {i}": block for i, block in enumerate(blocks)})
    else:
        body = fw.sequential(blocks)
    net = fw.sequential([body, fw.dense(out, d)])
    fw.ready(net, d)
    return net


def custom_net(fw: Framework) -> Any:
    """A net with a custom block, BatchNorm and a layer without bias."""
    encoder = fw.sequential([fw.dense(6, 3), fw.relu(), fw.batchnorm(6)])
    net = fw.sequential([fw.chain({"encoder": encoder, "head": fw.dense(2, 6, bias=False)}),
                         fw.dense(5, 2)])
    fw.ready(net, 3)
    return net


def random_net(fw: Framework, gen: np.random.Generator) -> Any:
    """A net nobody has seen: blocks nested three to four levels deep, random widths and kinds."""
    d = int(gen.integers(2, 10))
    body, width = _random_container(fw, gen, d, depth=3)
    net = fw.sequential([body, fw.dense(int(gen.integers(1, 5)), width)])
    fw.ready(net, d)
    return net


def _random_block(fw: Framework, gen: np.random.Generator, d: int, depth: int) -> tuple[Any, int]:
    kind = "dense" if depth == 0 else gen.choice(["dense", "dense", "norm", "container"])
    if kind == "container":
        return _random_container(fw, gen, d, depth)
    if kind == "norm":
        return fw.batchnorm(d), d
    out = int(gen.integers(2, 17))
    return fw.dense(out, d, bias=bool(gen.random() < 0.75), relu=bool(gen.random() < 0.5)), out


def _random_container(fw: Framework, gen: np.random.Generator, d: int,
                      depth: int) -> tuple[Any, int]:
    children = []
    for k in range(int(gen.integers(1, 4))):
        # The first child of a container is a container itself while depth allows, so
        # every random net nests blocks at least `depth` levels deep.
        if k == 0 and depth > 1:
            child, d = _random_container(fw, gen, d, depth - 1)
        else:
            child, d = _random_block(fw, gen, d, depth - 1)
        children.append(child)
    if gen.random() < 0.5:
        return fw.sequential(children), d
    names = gen.choice(_CHILD_NAMES, size=len(children), replace=False)
    return fw.chain(dict(zip(names.tolist(), children))), d


# -- Part A: every parameter's name and shape --------------------------------------------
def check_param_shapes_examples(param_shapes: Callable, framework: str) -> None:
    """``param_shapes`` on the chapter's two nets: the MLP and the nested ``rgnet``."""
    fw = get(framework)
    _check_param_shapes_on(fw, param_shapes, example_mlp(fw), "the chapter's MLP (net)")
    _check_param_shapes_on(fw, param_shapes, rgnet(fw), "the nested net rgnet")


def check_param_shapes_custom(param_shapes: Callable, framework: str) -> None:
    """``param_shapes`` on a custom block with BatchNorm and a layer without bias."""
    fw = get(framework)
    _check_param_shapes_on(fw, param_shapes, custom_net(fw),
                           "a net with a custom block, BatchNorm and a layer without bias")


def check_param_shapes_random(param_shapes: Callable, framework: str, trials: int = 5) -> None:
    """``param_shapes`` on ``trials`` freshly drawn nets with random nesting and widths."""
    fw = get(framework)
    gen = rng()
    for trial in range(trials):
        _check_param_shapes_on(fw, param_shapes, random_net(fw, gen),
                               f"random nested net #{trial + 1}", show_net=True)


def _check_param_shapes_on(fw: Framework, param_shapes: Callable, net: Any, what: str,
                           show_net: bool = False) -> None:
    truth = {name: fw.shape(p) for name, p in fw.named_parameters(net).items()}
    got = call(param_shapes, net, shown="net")
    where = f"for {what}" + (f":\n{net}\n" if show_net else "")
    expect(isinstance(got, Mapping),
           f"param_shapes should return a dict {{name: shape}}; {where} it returned "
           f"{type(got).__name__} {_clip(got)}")
    shapes: dict[Any, tuple[int, ...]] = {}
    for name, shape in got.items():
        as_tuple = as_shape(shape)
        expect(as_tuple is not None,
               f"each value should be a shape, a tuple of ints such as (8, 4); {where} the "
               f"value for {name!r} is {type(shape).__name__} {_clip(shape)}")
        shapes[name] = as_tuple
    missing = [name for name in truth if name not in shapes]
    extra = [name for name in shapes if name not in truth]
    if missing or extra:
        fail(_names_message(fw, truth, shapes, missing, extra, where))
    for name, expected in truth.items():
        if shapes[name] != expected:
            hint = ""
            if shapes[name] == tuple(reversed(expected)):
                hint = " — that is the shape transposed; a dense weight is (out, in)"
            fail(f"{where} the shape of {name!r} should be {shape_text(expected)}; got "
                 f"{shape_text(shapes[name])}{hint}")


def _names_message(fw: Framework, truth: dict, shapes: dict, missing: list, extra: list,
                   where: str) -> str:
    expected = ", ".join(repr(n) for n in list(truth)[:4]) + (", ..." if len(truth) > 4 else "")
    head = (f"{where} expected {len(truth)} parameters named {expected}; got {len(shapes)}")
    every = _ALL_PARAMETERS[fw.key]
    if not shapes:
        return (f"{head}, an empty dict. The parameters live in the net's children, all the "
                f"way down: {every} walks the whole tree")
    buffers = [n for n in extra if str(n).endswith(("running_mean", "running_var",
                                                    "num_batches_tracked"))]
    if buffers:
        return (f"{head}. {buffers[0]!r} is a buffer, not a parameter: state_dict() holds "
                f"buffers as well as parameters; {every} holds only parameters")
    frozen = [n for n in missing if str(n).endswith(("moving_mean", "moving_variance",
                                                     "running_mean", "running_var"))]
    if frozen and not extra:
        return (f"{head}; {frozen[0]!r} is missing. It needs no gradient but is still a "
                f"parameter: {_TRAINABLE_ONLY[fw.key]} leaves it out, {every} does not")
    if missing and not extra:
        return (f"{head}; missing {', '.join(repr(n) for n in missing[:3])}"
                + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                + f". Those belong to the net too: {every} walks every nested block")
    if extra and all("." not in str(n) and "_" not in str(n) for n in extra):
        return (f"{head}, named {sorted(map(str, extra))}: those are the names inside one "
                f"layer. Return the parameters of the whole net, as {every} names them")
    parts = []
    if missing:
        parts.append(f"missing {', '.join(repr(n) for n in missing[:3])}"
                     + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    if extra:
        parts.append(f"not parameters of this net: {', '.join(repr(n) for n in extra[:3])}"
                     + (f" and {len(extra) - 3} more" if len(extra) > 3 else ""))
    return f"{head}; {'; '.join(parts)}. Use the names {every} gives"


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" or word.startswith("ND") else "a ") + word


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- Part B: a parameter deep inside a nested net ----------------------------------------
def check_block_bias(block_bias: Callable, framework: str, *, n_blocks: int = 4,
                     index: int = 1, d: int = 4, h: int = 8) -> None:
    """``block_bias(rgnet, index)`` is the bias object of block ``index``'s first layer."""
    fw = get(framework)
    net = rgnet(fw, d=d, h=h, n_blocks=n_blocks)
    places = _rgnet_places(fw, net, n_blocks)
    want = fw.bias(fw.dense_layers(net[0][index])[0])
    got = call(block_bias, net, index, shown=f"rgnet, {index}")
    if got is want:
        return
    names = {id(p): name for name, p in fw.named_parameters(net).items()}
    head = (f"block_bias(rgnet, {index}) on an rgnet of {n_blocks} blocks (d={d}, h={h}) "
            f"should return the bias of the first layer of block {index}, the parameter "
            f"{names[id(want)]!r} of shape {shape_text(fw.shape(want))}")
    if id(got) in places:
        block, layer, kind = places[id(got)]
        hint = ""
        if kind == "weight":
            hint = " — a weight, not the bias"
        elif block == index:
            hint = (f" — another layer of the right block; the first layer of block {index} "
                    f"is rgnet[0][{index}][0]")
        elif block in (index - 1, index + 1) and layer == 0:
            hint = " — the neighbouring block: blocks are numbered from 0"
        where = ("the output layer" if block is None
                 else f"layer {layer} of block {block}")
        fail(f"{head}; got the {kind} of {where}, {names[id(got)]!r}{hint}")
    if not fw.is_parameter(got) and (fw.is_tensor(got) or isinstance(got, np.ndarray)):
        same = _same_values(fw, got, want)
        fail(f"{head}; got {_article(type(got).__name__)}"
             f"{' with the right values' if same else ''} "
             f"instead of the parameter itself. .data / .data() / .value() give the values; "
             f"return the {fw.parameter_class} object, which also carries the gradient")
    fail(f"{head}; got {type(got).__name__} {_clip(got)}")


def check_block_bias_random(block_bias: Callable, framework: str, trials: int = 5) -> None:
    """``check_block_bias`` on ``trials`` rgnets with random block counts, sizes and index.

    No two consecutive trials ask for the same block, so no fixed index passes them all.
    """
    gen = rng()
    previous = None
    for _ in range(trials):
        n_blocks = int(gen.integers(3, 7))
        index = int(gen.choice([i for i in range(n_blocks) if i != previous]))
        previous = index
        check_block_bias(block_bias, framework, n_blocks=n_blocks, index=index,
                         d=int(gen.integers(2, 10)), h=int(gen.integers(9, 17)))


def _rgnet_places(fw: Framework, net: Any, n_blocks: int) -> dict[int, tuple]:
    """id(parameter) -> (block, layer, "weight" | "bias"); block None for the output layer."""
    places: dict[int, tuple] = {}
    layers = [(b, k, layer) for b in range(n_blocks)
              for k, layer in enumerate(fw.dense_layers(net[0][b]))]
    layers.append((None, 0, fw.dense_layers(net)[-1]))
    for block, k, layer in layers:
        places[id(fw.weight(layer))] = (block, k, "weight")
        places[id(fw.bias(layer))] = (block, k, "bias")
    return places


def _same_values(fw: Framework, got: Any, want: Any) -> bool:
    try:
        values = fw.numpy(got)
    except Exception:  # noqa: BLE001 - whatever it is, it is not the parameter
        return False
    target = fw.numpy(want)
    return values.shape == target.shape and bool(np.allclose(values, target))


# -- Part C: one registered parameter, one plain tensor ----------------------------------
_REGISTER_HINT = {
    "pytorch": "weight1 must be an nn.Parameter: a plain tensor attribute is not registered",
    "mxnet": ("in Gluon 1.x create weight1 with self.params.get('weight1', shape=(n, n)): a "
              "gluon.Parameter merely stored as an attribute is not collected by "
              "collect_params()"),
    "mindspore": "weight1 must be a mindspore.Parameter: a plain Tensor attribute is not one",
}


def check_my_model(MyModel: Callable, framework: str, n: int = 20) -> None:
    """``MyModel(n)`` registers exactly one parameter, weight1 (n, n); weight2 stays a tensor."""
    fw = get(framework)
    model = call(MyModel, n, shown=str(n))
    params = fw.named_parameters(model)
    prefix = getattr(model, "prefix", "") if fw.key == "mxnet" else ""
    short = {name[len(prefix):] if name.startswith(prefix) else name: p
             for name, p in params.items()}
    head = f"MyModel({n}) should register exactly one parameter, weight1"
    if not short:
        fail(f"{head}; it registers none — {_REGISTER_HINT[fw.key]}")
    if "weight2" in short:
        fail(f"{head}; weight2 is registered too — it must stay a plain tensor: wrapping it in "
             f"{fw.parameter_class} makes it a parameter the optimizer would train")
    if list(short) != ["weight1"]:
        fail(f"{head}; it registers {sorted(short)}")
    weight1 = short["weight1"]
    expect(getattr(model, "weight1", None) is weight1,
           f"{head}, stored as the attribute model.weight1; model.weight1 is "
           f"{type(getattr(model, 'weight1', None)).__name__}, not the registered parameter")
    shape1 = fw.shape(weight1)
    expect(shape1 == (n, n),
           f"weight1 should have shape ({n}, {n}) for MyModel({n}); got {shape_text(shape1)}"
           + (" — is the size hard-coded instead of taken from n?" if shape1 else ""))
    expect(hasattr(model, "weight2"), f"MyModel({n}) should have an attribute weight2")
    weight2 = model.weight2
    expect(fw.is_tensor(weight2) and not fw.is_parameter(weight2),
           f"model.weight2 should be a plain {fw.title} tensor (not a parameter); got "
           f"{type(weight2).__name__}")
    shape2 = tuple(int(s) for s in weight2.shape)
    expect(shape2 == (n, n),
           f"weight2 should have shape ({n}, {n}) for MyModel({n}); got {shape_text(shape2)}"
           " — is the size hard-coded instead of taken from n?")


def check_my_model_random(MyModel: Callable, framework: str, trials: int = 3) -> None:
    """``check_my_model`` for sizes drawn at random (never the example's 20)."""
    gen = rng()
    for n in gen.choice([k for k in range(2, 40) if k != 20], size=trials, replace=False):
        check_my_model(MyModel, framework, int(n))
