"""The wrong answers every auto-graded question must catch, in one table.

Each row is the source of one answer cell, handed in in place of the reference solution,
and the test cells (grade_ids) that must lose their points because of it — those and no
others. ``test_checks_*.py`` run the rows in-process against the test cells' code;
``test_exercise_answers.py`` grades them as real submissions.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class WrongAnswer:
    notebook: str  #: e.g. "tying_mxnet"
    answer: str  #: grade_id of the answer cell it replaces
    kind: str  #: "hard-coded" or "misconception"
    label: str  #: what is wrong, in a few words (used as the test id)
    code: str  #: the answer cell's whole source
    fails: tuple[str, ...]  #: grade_ids of the test cells that must lose their points
    message: str  #: a phrase the failure message of the first one must contain

    @property
    def assignment(self) -> str:
        return self.notebook.rsplit("_", 1)[0]

    @property
    def framework(self) -> str:
        return self.notebook.rsplit("_", 1)[1]

    @property
    def id(self) -> str:
        return f"{self.notebook}-{self.answer.removeprefix('answer_')}-{self.label}"


def _row(
    notebook: str,
    answer: str,
    kind: str,
    label: str,
    code: str,
    fails: tuple[str, ...],
    message: str,
) -> WrongAnswer:
    return WrongAnswer(
        notebook, answer, kind, label, textwrap.dedent(code).strip("\n"), fails, message
    )


SHAPES = ("param_shapes_of_chapter_nets", "param_shapes_of_any_net")
ANY_NET = ("param_shapes_of_any_net",)
BLOCK = ("block_bias_is_the_parameter",)
MODEL = ("only_weight1_is_registered",)
MIXTURE = ("mixture_init_distribution", "mixture_init_every_layer")
LAYOUT = ("mixture_init_every_layer",)
FIRST_LAST = ("first_xavier_last_42",)
TIED = ("tied_layers_are_one_object",)
GRAD = ("tied_grad_is_sum",)
BUILD = ("build_mlp_works",)
BEFORE = ("deferred_shape_before",)
AFTER = ("deferred_shape_after",)
TO_NUMPY = ("numpy_state_is_complete",)
ROUND_TRIP = ("numpy_state_round_trip",)
CONVERT = ("converted_state_predicts_the_same",)

WRONG_ANSWERS: list[WrongAnswer] = []


def _add(*rows: WrongAnswer) -> None:
    WRONG_ANSWERS.extend(rows)


# -- access ------------------------------------------------------------------------------
_add(
    _row(
        "access_pytorch",
        "answer_param_shapes",
        "hard-coded",
        "chapter-net-dict",
        """
        def param_shapes(net):
            return {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8), "2.bias": (1,)}
        """,
        SHAPES,
        "the nested net rgnet",
    ),
    _row(
        "access_pytorch",
        "answer_param_shapes",
        "misconception",
        "first-layer-only",
        """
        def param_shapes(net):
            return {name: tuple(p.shape) for name, p in net[0].named_parameters()}
        """,
        SHAPES,
        "the names inside one layer",
    ),
    _row(
        "access_pytorch",
        "answer_param_shapes",
        "misconception",
        "state-dict-buffers",
        """
        def param_shapes(net):
            return {name: tuple(t.shape) for name, t in net.state_dict().items()}
        """,
        ANY_NET,
        "is a buffer, not a parameter",
    ),
    _row(
        "access_mxnet",
        "answer_param_shapes",
        "hard-coded",
        "chapter-net-dict",
        """
        def param_shapes(net):
            return {"dense0_weight": (8, 4), "dense0_bias": (8,), "dense1_weight": (1, 8),
                    "dense1_bias": (1,)}
        """,
        SHAPES,
        "expected 4 parameters",
    ),
    _row(
        "access_mxnet",
        "answer_param_shapes",
        "misconception",
        "first-layer-only",
        """
        def param_shapes(net):
            return {name: p.shape for name, p in net[0].collect_params().items()}
        """,
        SHAPES,
        "walks every nested block",
    ),
    _row(
        "access_mxnet",
        "answer_param_shapes",
        "misconception",
        "weights-and-biases-only",
        """
        def param_shapes(net):
            return {name: p.shape for name, p in net.collect_params(".*weight|.*bias").items()}
        """,
        ANY_NET,
        "is still a parameter",
    ),
    _row(
        "access_mindspore",
        "answer_param_shapes",
        "hard-coded",
        "chapter-net-dict",
        """
        def param_shapes(net):
            return {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8), "2.bias": (1,)}
        """,
        SHAPES,
        "the nested net rgnet",
    ),
    _row(
        "access_mindspore",
        "answer_param_shapes",
        "misconception",
        "first-layer-only",
        """
        def param_shapes(net):
            return {name: p.shape for name, p in net[0].parameters_and_names()}
        """,
        SHAPES,
        "the names inside one layer",
    ),
    _row(
        "access_mindspore",
        "answer_param_shapes",
        "misconception",
        "trainable-only",
        """
        def param_shapes(net):
            return {p.name: p.shape for p in net.trainable_params()}
        """,
        ANY_NET,
        "trainable_params() leaves it out",
    ),
)
for _framework, _second in (("pytorch", 2), ("mxnet", 1), ("mindspore", 2)):
    _values = {"pytorch": ".data", "mxnet": ".data()", "mindspore": ".value()"}[_framework]
    _add(
        _row(
            f"access_{_framework}",
            "answer_block_bias",
            "hard-coded",
            "always-block-1",
            """
            def block_bias(rgnet, i):
                return rgnet[0][1][0].bias
            """,
            BLOCK,
            "should return the bias of the first layer of block",
        ),
        _row(
            f"access_{_framework}",
            "answer_block_bias",
            "misconception",
            "values-not-parameter",
            f"""
            def block_bias(rgnet, i):
                return rgnet[0][i][0].bias{_values}
            """,
            BLOCK,
            "instead of the parameter itself",
        ),
        _row(
            f"access_{_framework}",
            "answer_block_bias",
            "misconception",
            "second-layer",
            f"""
            def block_bias(rgnet, i):
                return rgnet[0][i][{_second}].bias
            """,
            BLOCK,
            "another layer of the right block",
        ),
    )
_add(
    _row(
        "access_pytorch",
        "answer_my_model",
        "hard-coded",
        "size-20",
        """
        class MyModel(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.weight1 = nn.Parameter(torch.rand(20, 20))
                self.weight2 = torch.rand(20, 20)
        """,
        MODEL,
        "is the size hard-coded",
    ),
    _row(
        "access_pytorch",
        "answer_my_model",
        "misconception",
        "both-parameters",
        """
        class MyModel(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.weight1 = nn.Parameter(torch.rand(n, n))
                self.weight2 = nn.Parameter(torch.rand(n, n))
        """,
        MODEL,
        "weight2 is registered too",
    ),
    _row(
        "access_pytorch",
        "answer_my_model",
        "misconception",
        "both-plain-tensors",
        """
        class MyModel(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.weight1 = torch.rand(n, n, requires_grad=True)
                self.weight2 = torch.rand(n, n)
        """,
        MODEL,
        "it registers none",
    ),
    _row(
        "access_mxnet",
        "answer_my_model",
        "hard-coded",
        "size-20",
        """
        class MyModel(nn.Block):
            def __init__(self, n, **kwargs):
                super().__init__(**kwargs)
                self.weight1 = self.params.get("weight1", shape=(20, 20))
                self.weight2 = nd.random.uniform(shape=(20, 20))
        """,
        MODEL,
        "is the size hard-coded",
    ),
    _row(
        "access_mxnet",
        "answer_my_model",
        "misconception",
        "both-parameters",
        """
        class MyModel(nn.Block):
            def __init__(self, n, **kwargs):
                super().__init__(**kwargs)
                self.weight1 = self.params.get("weight1", shape=(n, n))
                self.weight2 = self.params.get("weight2", shape=(n, n))
        """,
        MODEL,
        "weight2 is registered too",
    ),
    _row(
        "access_mxnet",
        "answer_my_model",
        "misconception",
        "parameter-as-attribute",
        """
        from mxnet import gluon


        class MyModel(nn.Block):
            def __init__(self, n, **kwargs):
                super().__init__(**kwargs)
                self.weight1 = gluon.Parameter("weight1", shape=(n, n))
                self.weight2 = nd.random.uniform(shape=(n, n))
        """,
        MODEL,
        "it registers none",
    ),
    _row(
        "access_mindspore",
        "answer_my_model",
        "hard-coded",
        "size-20",
        """
        class MyModel(nn.Cell):
            def __init__(self, n):
                super().__init__()
                self.weight1 = Parameter(ops.rand(20, 20), name="weight1")
                self.weight2 = ops.rand(20, 20)
        """,
        MODEL,
        "is the size hard-coded",
    ),
    _row(
        "access_mindspore",
        "answer_my_model",
        "misconception",
        "both-parameters",
        """
        class MyModel(nn.Cell):
            def __init__(self, n):
                super().__init__()
                self.weight1 = Parameter(ops.rand(n, n), name="weight1")
                self.weight2 = Parameter(ops.rand(n, n), name="weight2")
        """,
        MODEL,
        "weight2 is registered too",
    ),
)

# -- initialization ----------------------------------------------------------------------
_add(
    _row(
        "initialization_pytorch",
        "answer_mixture_init",
        "hard-coded",
        "fixed-pattern",
        """
        def mixture_init(m):
            if type(m) == nn.Linear:
                n = m.weight.numel()
                q = n // 4
                pattern = torch.cat([torch.linspace(5, 10, q), torch.zeros(n - 2 * q),
                                     torch.linspace(-10, -5, q)])
                with torch.no_grad():
                    m.weight.copy_(pattern.reshape(m.weight.shape))
        """,
        LAYOUT,
        "scattered at random",
    ),
    _row(
        "initialization_pytorch",
        "answer_mixture_init",
        "misconception",
        "no-zeroing",
        """
        def mixture_init(m):
            if type(m) == nn.Linear:
                nn.init.uniform_(m.weight, -10, 10)
        """,
        MIXTURE,
        "without the zeroing step",
    ),
    _row(
        "initialization_pytorch",
        "answer_mixture_init",
        "misconception",
        "threshold-2.5",
        """
        def mixture_init(m):
            if type(m) == nn.Linear:
                nn.init.uniform_(m.weight, -10, 10)
                with torch.no_grad():
                    m.weight *= m.weight.abs() >= 2.5
        """,
        MIXTURE,
        "threshold looks like 2.5",
    ),
    _row(
        "initialization_pytorch",
        "answer_mixture_init",
        "misconception",
        "inverted-mask",
        """
        def mixture_init(m):
            if type(m) == nn.Linear:
                nn.init.uniform_(m.weight, -10, 10)
                with torch.no_grad():
                    m.weight *= m.weight.abs() < 5
        """,
        MIXTURE,
        "the mask is inverted",
    ),
    _row(
        "initialization_mxnet",
        "answer_mixture_init",
        "hard-coded",
        "fixed-pattern",
        """
        class MixtureInit(init.Initializer):
            def _init_weight(self, name, data):
                n = data.size
                q = n // 4
                pattern = np.concatenate([np.linspace(5, 10, q), np.zeros(n - 2 * q),
                                          np.linspace(-10, -5, q)])
                data[:] = nd.array(pattern.reshape(data.shape))
        """,
        LAYOUT,
        "scattered at random",
    ),
    _row(
        "initialization_mxnet",
        "answer_mixture_init",
        "misconception",
        "no-zeroing",
        """
        class MixtureInit(init.Initializer):
            def _init_weight(self, name, data):
                data[:] = nd.random.uniform(low=-10, high=10, shape=data.shape)
        """,
        MIXTURE,
        "without the zeroing step",
    ),
    _row(
        "initialization_mxnet",
        "answer_mixture_init",
        "misconception",
        "data-rebound",
        """
        class MixtureInit(init.Initializer):
            def _init_weight(self, name, data):
                data = nd.random.uniform(low=-10, high=10, shape=data.shape)
                data = data * (data.abs() >= 5)
        """,
        MIXTURE,
        "data[:] = ...",
    ),
    _row(
        "initialization_mxnet",
        "answer_mixture_init",
        "misconception",
        "threshold-2.5",
        """
        class MixtureInit(init.Initializer):
            def _init_weight(self, name, data):
                data[:] = nd.random.uniform(low=-10, high=10, shape=data.shape)
                data *= data.abs() >= 2.5
        """,
        MIXTURE,
        "threshold looks like 2.5",
    ),
    _row(
        "initialization_mindspore",
        "answer_mixture_init",
        "hard-coded",
        "fixed-pattern",
        """
        import numpy as np


        def mixture_init(cell):
            if type(cell) == nn.Dense:
                n = cell.weight.size
                q = n // 4
                pattern = np.concatenate([np.linspace(5, 10, q), np.zeros(n - 2 * q),
                                          np.linspace(-10, -5, q)])
                cell.weight.set_data(Tensor(pattern.reshape(cell.weight.shape), ms.float32))
        """,
        LAYOUT,
        "scattered at random",
    ),
    _row(
        "initialization_mindspore",
        "answer_mixture_init",
        "misconception",
        "no-zeroing",
        """
        def mixture_init(cell):
            if type(cell) == nn.Dense:
                weight = cell.weight
                weight.set_data(initializer(Uniform(scale=10), weight.shape, weight.dtype))
        """,
        MIXTURE,
        "without the zeroing step",
    ),
    _row(
        "initialization_mindspore",
        "answer_mixture_init",
        "misconception",
        "threshold-2.5",
        """
        def mixture_init(cell):
            if type(cell) == nn.Dense:
                weight = cell.weight
                weight.set_data(initializer(Uniform(scale=10), weight.shape, weight.dtype))
                weight.set_data(weight * (weight.abs() >= 2.5))
        """,
        MIXTURE,
        "threshold looks like 2.5",
    ),
)
_add(
    _row(
        "initialization_pytorch",
        "answer_init_first_and_last",
        "hard-coded",
        "last-is-net-2",
        """
        def init_first_and_last(net):
            nn.init.xavier_uniform_(net[0].weight)
            nn.init.constant_(net[2].weight, 42)
        """,
        FIRST_LAST,
        "it is not the last layer",
    ),
    _row(
        "initialization_pytorch",
        "answer_init_first_and_last",
        "misconception",
        "xavier-everywhere",
        """
        def init_first_and_last(net):
            for layer in net:
                if type(layer) == nn.Linear:
                    nn.init.xavier_uniform_(layer.weight)
            nn.init.constant_(net[-1].weight, 42)
        """,
        FIRST_LAST,
        "was re-initialized",
    ),
    _row(
        "initialization_pytorch",
        "answer_init_first_and_last",
        "misconception",
        "xavier-normal",
        """
        def init_first_and_last(net):
            nn.init.xavier_normal_(net[0].weight)
            nn.init.constant_(net[-1].weight, 42)
        """,
        FIRST_LAST,
        "Xavier normal",
    ),
    _row(
        "initialization_mxnet",
        "answer_init_first_and_last",
        "hard-coded",
        "last-is-net-1",
        """
        def init_first_and_last(net):
            net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
            net[1].weight.initialize(init=init.Constant(42), force_reinit=True)
        """,
        FIRST_LAST,
        "it is not the last layer",
    ),
    _row(
        "initialization_mxnet",
        "answer_init_first_and_last",
        "misconception",
        "no-force-reinit",
        """
        def init_first_and_last(net):
            net[0].weight.initialize(init=init.Xavier())
            net[-1].weight.initialize(init=init.Constant(42))
        """,
        FIRST_LAST,
        "unless you pass force_reinit=True",
    ),
    _row(
        "initialization_mxnet",
        "answer_init_first_and_last",
        "misconception",
        "xavier-everywhere",
        """
        def init_first_and_last(net):
            net.initialize(init=init.Xavier(), force_reinit=True)
            net[-1].weight.initialize(init=init.Constant(42), force_reinit=True)
        """,
        FIRST_LAST,
        "was re-initialized",
    ),
    _row(
        "initialization_mindspore",
        "answer_init_first_and_last",
        "hard-coded",
        "last-is-net-2",
        """
        def init_first_and_last(net):
            first, last = net[0].weight, net[2].weight
            first.set_data(initializer(XavierUniform(), first.shape, first.dtype))
            last.set_data(initializer(Constant(42), last.shape, last.dtype))
        """,
        FIRST_LAST,
        "it is not the last layer",
    ),
    _row(
        "initialization_mindspore",
        "answer_init_first_and_last",
        "misconception",
        "default-init-kept",
        """
        def init_first_and_last(net):
            last = net[-1].weight
            last.set_data(initializer(Constant(42), last.shape, last.dtype))
        """,
        FIRST_LAST,
        "the first layer's weight was not changed",
    ),
)

# -- tying -------------------------------------------------------------------------------
_add(
    _row(
        "tying_pytorch",
        "answer_make_tied_net",
        "hard-coded",
        "sizes-4-8",
        """
        def make_tied_net(d, h):
            shared = nn.Linear(8, 8)
            return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared,
                                 nn.ReLU(), nn.Linear(8, 1))
        """,
        TIED,
        "should have shape",
    ),
    _row(
        "tying_pytorch",
        "answer_make_tied_net",
        "misconception",
        "copied-layer",
        """
        import copy


        def make_tied_net(d, h):
            shared = nn.Linear(h, h)
            return nn.Sequential(nn.Linear(d, h), nn.ReLU(), shared, nn.ReLU(),
                                 copy.deepcopy(shared), nn.ReLU(), nn.Linear(h, 1))
        """,
        TIED,
        "hold two different weights",
    ),
    _row(
        "tying_pytorch",
        "answer_make_tied_net",
        "misconception",
        "shared-storage-only",
        """
        def make_tied_net(d, h):
            first, second = nn.Linear(h, h), nn.Linear(h, h)
            second.weight.data = first.weight.data
            second.bias.data = first.bias.data
            return nn.Sequential(nn.Linear(d, h), nn.ReLU(), first, nn.ReLU(), second,
                                 nn.ReLU(), nn.Linear(h, 1))
        """,
        TIED,
        "two nn.Parameter objects",
    ),
    _row(
        "tying_mxnet",
        "answer_make_tied_net",
        "hard-coded",
        "sizes-4-8",
        """
        def make_tied_net(d, h):
            net = nn.Sequential()
            shared = nn.Dense(8, activation="relu")
            net.add(nn.Dense(8, in_units=4, activation="relu"), shared,
                    nn.Dense(8, activation="relu", params=shared.params), nn.Dense(1))
            net.initialize()
            return net
        """,
        TIED,
        "should have shape",
    ),
    _row(
        "tying_mxnet",
        "answer_make_tied_net",
        "misconception",
        "separate-layers",
        """
        def make_tied_net(d, h):
            net = nn.Sequential()
            net.add(nn.Dense(h, activation="relu"), nn.Dense(h, activation="relu"),
                    nn.Dense(h, activation="relu"), nn.Dense(1))
            net.initialize()
            return net
        """,
        TIED,
        "hold two different weights",
    ),
    _row(
        "tying_mindspore",
        "answer_make_tied_net",
        "hard-coded",
        "sizes-4-8",
        """
        def make_tied_net(d, h):
            shared = nn.Dense(8, 8)
            return nn.SequentialCell([nn.Dense(4, 8), nn.ReLU(), shared, nn.ReLU(), shared,
                                      nn.ReLU(), nn.Dense(8, 1)])
        """,
        TIED,
        "should have shape",
    ),
    _row(
        "tying_mindspore",
        "answer_make_tied_net",
        "misconception",
        "separate-layers",
        """
        def make_tied_net(d, h):
            return nn.SequentialCell([nn.Dense(d, h), nn.ReLU(), nn.Dense(h, h), nn.ReLU(),
                                      nn.Dense(h, h), nn.ReLU(), nn.Dense(h, 1)])
        """,
        TIED,
        "hold two different weights",
    ),
)
for _framework in ("pytorch", "mxnet", "mindspore"):
    _add(
        _row(
            f"tying_{_framework}",
            "answer_tied_weight_grad",
            "hard-coded",
            "six",
            """
            def tied_weight_grad(w, x):
                return 6.0
            """,
            GRAD,
            "; got 6",
        ),
        _row(
            f"tying_{_framework}",
            "answer_tied_weight_grad",
            "misconception",
            "one-use",
            """
            def tied_weight_grad(w, x):
                return w * x
            """,
            GRAD,
            "the gradient of one use",
        ),
        _row(
            f"tying_{_framework}",
            "answer_tied_weight_grad",
            "misconception",
            "the-output",
            """
            def tied_weight_grad(w, x):
                return w * w * x
            """,
            GRAD,
            "the net's output",
        ),
    )

# -- deferred ----------------------------------------------------------------------------
_SHAPE_MISMATCH = "build_mlp("  # which check trips first depends on the random widths
_add(
    _row(
        "deferred_pytorch",
        "answer_build_mlp",
        "hard-coded",
        "widths-256-10",
        """
        def build_mlp(widths):
            return nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
        """,
        BUILD,
        _SHAPE_MISMATCH,
    ),
    _row(
        "deferred_pytorch",
        "answer_build_mlp",
        "misconception",
        "input-size-20",
        """
        def build_mlp(widths):
            sizes = [20, *widths]
            layers = []
            for in_size, width in zip(sizes[:-2], sizes[1:-1]):
                layers += [nn.Linear(in_size, width), nn.ReLU()]
            layers.append(nn.Linear(sizes[-2], sizes[-1]))
            return nn.Sequential(*layers)
        """,
        BUILD,
        "use nn.LazyLinear",
    ),
    _row(
        "deferred_mxnet",
        "answer_build_mlp",
        "hard-coded",
        "widths-256-10",
        """
        def build_mlp(widths):
            net = nn.Sequential()
            net.add(nn.Dense(256, activation="relu"), nn.Dense(10))
            net.initialize()
            return net
        """,
        BUILD,
        _SHAPE_MISMATCH,
    ),
    _row(
        "deferred_mxnet",
        "answer_build_mlp",
        "misconception",
        "in-units-20",
        """
        def build_mlp(widths):
            net = nn.Sequential()
            net.add(nn.Dense(widths[0], in_units=20, activation="relu"))
            for width in widths[1:-1]:
                net.add(nn.Dense(width, activation="relu"))
            net.add(nn.Dense(widths[-1]))
            net.initialize()
            return net
        """,
        BUILD,
        "leave in_units out",
    ),
    _row(
        "deferred_mxnet",
        "answer_build_mlp",
        "misconception",
        "never-initialized",
        """
        def build_mlp(widths):
            net = nn.Sequential()
            for width in widths[:-1]:
                net.add(nn.Dense(width, activation="relu"))
            net.add(nn.Dense(widths[-1]))
            return net
        """,
        BUILD,
        "did you call net.initialize()?",
    ),
    _row(
        "deferred_mindspore",
        "answer_build_mlp",
        "hard-coded",
        "widths-256-10",
        """
        def build_mlp(widths, d):
            return nn.SequentialCell([nn.Dense(20, 256), nn.ReLU(), nn.Dense(256, 10)])
        """,
        BUILD,
        _SHAPE_MISMATCH,
    ),
    _row(
        "deferred_mindspore",
        "answer_build_mlp",
        "misconception",
        "every-layer-takes-d",
        """
        def build_mlp(widths, d):
            layers = []
            for width in widths[:-1]:
                layers += [nn.Dense(d, width), nn.ReLU()]
            layers.append(nn.Dense(d, widths[-1]))
            return nn.SequentialCell(layers)
        """,
        BUILD,
        "each layer's in_channels is the previous layer's width",
    ),
    _row(
        "deferred_pytorch",
        "answer_build_mlp",
        "misconception",
        "no-relu",
        """
        def build_mlp(widths):
            return nn.Sequential(*[nn.LazyLinear(width) for width in widths])
        """,
        BUILD,
        "is a ReLU missing, or one too many?",
    ),
    _row(
        "deferred_mxnet",
        "answer_build_mlp",
        "misconception",
        "no-relu",
        """
        def build_mlp(widths):
            net = nn.Sequential()
            for width in widths:
                net.add(nn.Dense(width))
            net.initialize()
            return net
        """,
        BUILD,
        "is a ReLU missing, or one too many?",
    ),
    _row(
        "deferred_mindspore",
        "answer_build_mlp",
        "misconception",
        "no-relu",
        """
        def build_mlp(widths, d):
            sizes = [d, *widths]
            return nn.SequentialCell([nn.Dense(in_size, width)
                                      for in_size, width in zip(sizes[:-1], sizes[1:])])
        """,
        BUILD,
        "is a ReLU missing, or one too many?",
    ),
)
_EXAMPLE_BEFORE = {
    "pytorch": "[None, None]",
    "mxnet": "[(256, 0), (10, 0)]",
    "mindspore": "[(256, 20), (10, 256)]",
}
for _framework in ("pytorch", "mxnet", "mindspore"):
    _add(
        _row(
            f"deferred_{_framework}",
            "answer_shapes_before",
            "hard-coded",
            "example-list",
            f"""
            def shapes_before(widths, d):
                return {_EXAMPLE_BEFORE[_framework]}
            """,
            BEFORE,
            "shapes_before(",
        ),
        _row(
            f"deferred_{_framework}",
            "answer_shapes_after",
            "hard-coded",
            "example-list",
            """
            def shapes_after(widths, d):
                return [(256, 20), (10, 256)]
            """,
            AFTER,
            "shapes_after(",
        ),
        _row(
            f"deferred_{_framework}",
            "answer_shapes_after",
            "misconception",
            "transposed",
            """
            def shapes_after(widths, d):
                return [(in_size, width) for width, in_size in zip(widths, [d, *widths])]
            """,
            AFTER,
            "transposed",
        ),
        _row(
            f"deferred_{_framework}",
            "answer_shapes_after",
            "misconception",
            "every-layer-takes-d",
            """
            def shapes_after(widths, d):
                return [(width, d) for width in widths]
            """,
            AFTER,
            "receives the output of layer k - 1",
        ),
    )
_add(
    _row(
        "deferred_pytorch",
        "answer_shapes_before",
        "misconception",
        "known-before-data",
        """
        def shapes_before(widths, d):
            return [(width, in_size) for width, in_size in zip(widths, [d, *widths])]
        """,
        BEFORE,
        "Those are the shapes after the first forward pass",
    ),
    _row(
        "deferred_pytorch",
        "answer_shapes_before",
        "misconception",
        "mxnet-style-zero",
        """
        def shapes_before(widths, d):
            return [(width, 0) for width in widths]
        """,
        BEFORE,
        "(n, 0) is how MXNet shows it",
    ),
    _row(
        "deferred_mxnet",
        "answer_shapes_before",
        "misconception",
        "known-before-data",
        """
        def shapes_before(widths, d):
            return [(width, in_size) for width, in_size in zip(widths, [d, *widths])]
        """,
        BEFORE,
        "Those are the shapes after the first forward pass",
    ),
    _row(
        "deferred_mindspore",
        "answer_shapes_before",
        "misconception",
        "deferred-like-mxnet",
        """
        def shapes_before(widths, d):
            return [(width, 0) for width in widths]
        """,
        BEFORE,
        "MindSpore has no deferred initialization",
    ),
)

# -- portability -------------------------------------------------------------------------
_add(
    _row(
        "portability_pytorch",
        "answer_to_numpy_state",
        "hard-coded",
        "example-layers",
        """
        def to_numpy_state(net):
            state = {f"{k}.{leaf}": getattr(net[k], leaf).detach().numpy()
                     for k in (0, 3) for leaf in ("weight", "bias")}
            state.update({f"1.{name}": value.numpy()
                          for name, value in net[1].state_dict().items()})
            return state
        """,
        TO_NUMPY,
        "to_numpy_state(net)",
    ),
    _row(
        "portability_pytorch",
        "answer_to_numpy_state",
        "misconception",
        "parameters-only",
        """
        def to_numpy_state(net):
            return {name: p.detach().numpy() for name, p in net.named_parameters()}
        """,
        TO_NUMPY,
        "they are buffers, not parameters",
    ),
    _row(
        "portability_pytorch",
        "answer_to_numpy_state",
        "misconception",
        "tensors",
        """
        def to_numpy_state(net):
            return dict(net.state_dict())
        """,
        TO_NUMPY,
        "should map each name to a numpy array",
    ),
    _row(
        "portability_mxnet",
        "answer_to_numpy_state",
        "hard-coded",
        "example-layers",
        """
        def to_numpy_state(net):
            return {f"{k}.{name}": p.data().asnumpy() for k in (0, 1, 3)
                    for name, p in [(p.name.split("_", 1)[1], p)
                                    for p in net[k].collect_params().values()]}
        """,
        TO_NUMPY,
        "to_numpy_state(net)",
    ),
    _row(
        "portability_mxnet",
        "answer_to_numpy_state",
        "misconception",
        "collect-params-names",
        """
        def to_numpy_state(net):
            return {name: p.data().asnumpy() for name, p in net.collect_params().items()}
        """,
        TO_NUMPY,
        "collect_params()' names",
    ),
    _row(
        "portability_mxnet",
        "answer_to_numpy_state",
        "misconception",
        "trained-only",
        """
        import pathlib
        import tempfile


        def to_numpy_state(net):
            with tempfile.TemporaryDirectory() as folder:
                path = str(pathlib.Path(folder) / "net.params")
                net.save_parameters(path)
                return {name: value.asnumpy() for name, value in nd.load(path).items()
                        if "running" not in name}
        """,
        TO_NUMPY,
        "grad_req 'null'",
    ),
    _row(
        "portability_mindspore",
        "answer_to_numpy_state",
        "hard-coded",
        "example-layers",
        """
        def to_numpy_state(net):
            return {f"{k}.{name.rpartition('.')[2]}": p.asnumpy() for k in (0, 1, 3)
                    for name, p in net[k].parameters_and_names()}
        """,
        TO_NUMPY,
        "to_numpy_state(net)",
    ),
    _row(
        "portability_mindspore",
        "answer_to_numpy_state",
        "misconception",
        "trainable-only",
        """
        def to_numpy_state(net):
            return {p.name: p.asnumpy() for p in net.trainable_params()}
        """,
        TO_NUMPY,
        "trainable_params() leaves them out",
    ),
)
_add(
    _row(
        "portability_pytorch",
        "answer_from_numpy_state",
        "hard-coded",
        "example-layers",
        """
        def from_numpy_state(net, state):
            with torch.no_grad():
                for k in (0, 1, 3):
                    for leaf, tensor in net[k].state_dict(keep_vars=True).items():
                        tensor.copy_(torch.from_numpy(state[f"{k}.{leaf}"]))
        """,
        ROUND_TRIP,
        "from_numpy_state(net, state)",
    ),
    _row(
        "portability_pytorch",
        "answer_from_numpy_state",
        "misconception",
        "parameters-only",
        """
        def from_numpy_state(net, state):
            with torch.no_grad():
                for name, param in net.named_parameters():
                    param.copy_(torch.from_numpy(state[name]))
        """,
        ROUND_TRIP,
        "did not load BatchNorm's running statistics",
    ),
    _row(
        "portability_mxnet",
        "answer_from_numpy_state",
        "hard-coded",
        "example-layers",
        """
        def from_numpy_state(net, state):
            for k in (0, 1, 3):
                for p in net[k].collect_params().values():
                    p.set_data(nd.array(state[f"{k}.{p.name.split('_', 1)[1]}"]))
        """,
        ROUND_TRIP,
        "from_numpy_state(net, state)",
    ),
    _row(
        "portability_mxnet",
        "answer_from_numpy_state",
        "misconception",
        "trained-only",
        """
        def from_numpy_state(net, state):
            trained = [value for name, value in state.items() if "running" not in name]
            params = net.collect_params(".*weight|.*bias|.*gamma|.*beta").values()
            for param, value in zip(params, trained):
                param.set_data(nd.array(value))
        """,
        ROUND_TRIP,
        "did not load BatchNorm's running statistics",
    ),
    _row(
        "portability_mindspore",
        "answer_from_numpy_state",
        "hard-coded",
        "example-layers",
        """
        def from_numpy_state(net, state):
            for k in (0, 1, 3):
                for name, p in net[k].parameters_and_names():
                    p.set_data(Tensor(state[f"{k}.{name.rpartition('.')[2]}"]))
        """,
        ROUND_TRIP,
        "from_numpy_state(net, state)",
    ),
    _row(
        "portability_mindspore",
        "answer_from_numpy_state",
        "misconception",
        "trainable-only",
        """
        def from_numpy_state(net, state):
            for param in net.trainable_params():
                param.set_data(Tensor(state[param.name]))
        """,
        ROUND_TRIP,
        "trainable_params() leaves them out",
    ),
)
#: The start of a convert_names that finds the BatchNorm layers, indented as the rows' code.
_BATCHNORM_NAMES = textwrap.indent(
    """
names = {"pytorch": ["weight", "bias", "running_mean", "running_var"],
         "mxnet": ["gamma", "beta", "running_mean", "running_var"],
         "mindspore": ["gamma", "beta", "moving_mean", "moving_variance"]}
rename = dict(zip(names[source], names[target]))
batchnorm = {name.rpartition(".")[0] for name in state
             if name.rpartition(".")[2] == names[source][2]}""",
    " " * 16,
)
for _framework in ("pytorch", "mxnet", "mindspore"):
    _add(
        _row(
            f"portability_{_framework}",
            "answer_convert_names",
            "hard-coded",
            "example-positions",
            """
            def convert_names(state, source, target):
                names = {"pytorch": ["weight", "bias", "running_mean", "running_var"],
                         "mxnet": ["gamma", "beta", "running_mean", "running_var"],
                         "mindspore": ["gamma", "beta", "moving_mean", "moving_variance"]}
                rename = dict(zip(names[source], names[target]))
                converted = {}
                for name, value in state.items():
                    layer, _, leaf = name.rpartition(".")
                    if layer in ("1", "5"):  # where the example has its BatchNorm layers
                        if leaf == "num_batches_tracked":
                            continue
                        leaf = rename[leaf]
                    converted[f"{layer}.{leaf}"] = value
                return converted
            """,
            CONVERT,
            "convert_names(state, ",
        ),
        _row(
            f"portability_{_framework}",
            "answer_convert_names",
            "misconception",
            "forgets-statistics",
            f"""
            def convert_names(state, source, target):{_BATCHNORM_NAMES}
                converted = {{}}
                for name, value in state.items():
                    layer, _, leaf = name.rpartition(".")
                    if layer in batchnorm:
                        if leaf not in names[source][:2]:
                            continue  # not trained, so not needed?
                        leaf = rename[leaf]
                    converted[f"{{layer}}.{{leaf}}"] = value
                return converted
            """,
            CONVERT,
            "leaves out BatchNorm's running statistics",
        ),
        _row(
            f"portability_{_framework}",
            "answer_convert_names",
            "misconception",
            "transposed-dense",
            f"""
            def convert_names(state, source, target):{_BATCHNORM_NAMES}
                converted = {{}}
                for name, value in state.items():
                    layer, _, leaf = name.rpartition(".")
                    if layer in batchnorm:
                        if leaf == "num_batches_tracked":
                            continue
                        leaf = rename[leaf]
                    converted[f"{{layer}}.{{leaf}}"] = value.T if value.ndim == 2 else value
                return converted
            """,
            CONVERT,
            "transposed",
        ),
    )


def by_notebook(notebook: str) -> list[WrongAnswer]:
    return [row for row in WRONG_ANSWERS if row.notebook == notebook]


def by_assignment(assignment: str) -> list[WrongAnswer]:
    return [row for row in WRONG_ANSWERS if row.assignment == assignment]


def submissions(rows: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """Student name -> the rows handed in together: the k-th row of each answer cell."""
    by_answer: dict[tuple[str, str], list[WrongAnswer]] = defaultdict(list)
    for row in rows:
        by_answer[row.notebook, row.answer].append(row)
    grouped: dict[str, list[WrongAnswer]] = defaultdict(list)
    for (notebook, _), answers in by_answer.items():
        for k, row in enumerate(answers):
            grouped[f"{notebook}-{k}"].append(row)
    return dict(grouped)
