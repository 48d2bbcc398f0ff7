"""One small adapter per framework, so that each check is written once for all three.

Adapters import their framework only when first used: a PyTorch notebook never pays
for importing MXNet. Everything they hand back to a check is plain numpy or Python.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from pmcheck.common import quiet

from pmcheck import FRAMEWORK_NAMES, FRAMEWORKS


class Framework:
    """What the checks need from a framework; each subclass answers in its own idiom."""

    key: str = ""
    title: str = ""
    #: How the framework's documentation spells a layer's parameter container, for messages.
    parameter_class: str = ""
    #: Position of the i-th dense layer in a Sequential built by :meth:`mlp` is ``i * step``
    #: (PyTorch and MindSpore put a separate ReLU after each hidden layer, MXNet does not).
    step: int = 2

    # -- building -------------------------------------------------------------------
    def dense(self, out: int, in_: int, *, bias: bool = True, relu: bool = False) -> Any:
        """A dense layer ``in_ -> out`` (MXNet folds a ReLU into the layer itself)."""
        raise NotImplementedError

    def relu(self) -> Any:
        raise NotImplementedError

    def batchnorm(self, n: int) -> Any:
        raise NotImplementedError

    def batchnorm2d(self, n: int) -> Any:
        """A BatchNorm layer over the ``n`` channels of images (N, n, H, W)."""
        raise NotImplementedError

    def conv2d(self, out: int, in_: int, k: int) -> Any:
        """A ``k`` x ``k`` convolution ``in_ -> out`` channels, no padding, with a bias."""
        raise NotImplementedError

    def flatten(self) -> Any:
        raise NotImplementedError

    def sequential(self, children: Sequence[Any]) -> Any:
        raise NotImplementedError

    def chain(self, named: dict[str, Any]) -> Any:
        """A custom block holding ``named`` children as attributes, applied in order."""
        raise NotImplementedError

    def hidden(self, out: int, in_: int) -> list[Any]:
        """A dense layer followed by a ReLU, as the framework's examples write it."""
        return [self.dense(out, in_), self.relu()]

    def mlp(self, sizes: Sequence[int]) -> Any:
        """``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ReLUs between dense layers."""
        layers: list[Any] = []
        pairs = list(zip(sizes[:-1], sizes[1:]))
        for in_, out in pairs[:-1]:
            layers += self.hidden(out, in_)
        layers.append(self.dense(pairs[-1][1], pairs[-1][0]))
        return self.sequential(layers)

    def deferred_mlp(self, widths: Sequence[int], d: int) -> Any:
        """The framework's way to build an MLP before it has seen an input of ``d`` features."""
        raise NotImplementedError

    def apply_initializer(self, net: Any, initializer: Any) -> None:
        """Apply the learner's initializer to every layer of ``net``, in the framework's idiom."""
        net.apply(initializer)

    def ready(self, net: Any, d: int) -> None:
        """Make every parameter of ``net`` concrete (MXNet initializes lazily)."""
        self.forward(net, np.zeros((2, d), np.float32))

    def first_forward(self, net: Any, X: np.ndarray) -> np.ndarray:
        """``net``'s output on ``X``, making its parameters concrete on the way (MXNet)."""
        return self.forward(net, X)

    def initialize(self, net: Any) -> None:
        """Give a net whose every size is known its parameters (only MXNet waits for this)."""

    # -- reading --------------------------------------------------------------------
    def named_parameters(self, net: Any) -> dict[str, Any]:
        raise NotImplementedError

    def dense_layers(self, net: Any) -> list[Any]:
        raise NotImplementedError

    def weight(self, layer: Any) -> Any:
        return layer.weight

    def bias(self, layer: Any) -> Any:
        return layer.bias

    def shape(self, param: Any) -> tuple[int, ...] | None:
        """A parameter's shape; None while it has none (a PyTorch lazy parameter)."""
        return tuple(int(s) for s in param.shape)

    def numpy(self, value: Any) -> np.ndarray:
        raise NotImplementedError

    def set_numpy(self, param: Any, value: np.ndarray) -> None:
        raise NotImplementedError

    def is_parameter(self, obj: Any) -> bool:
        raise NotImplementedError

    def is_tensor(self, obj: Any) -> bool:
        raise NotImplementedError

    def forward(self, net: Any, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, net: Any, X: np.ndarray) -> np.ndarray:
        """``net``'s output on ``X`` in inference mode: BatchNorm uses its running statistics."""
        return self.forward(net, X)

    # -- the saved state: every array a checkpoint holds, by the framework's own names ---
    def state_entries(self, net: Any) -> dict[str, Any]:
        """The objects behind each name the framework's checkpoint of ``net`` uses."""
        raise NotImplementedError

    def state(self, net: Any) -> dict[str, np.ndarray]:
        """``net``'s checkpoint as numpy arrays (float32, and int64 for counts)."""
        return {name: self._array(entry) for name, entry in self.state_entries(net).items()}

    def _array(self, entry: Any) -> np.ndarray:
        return self.numpy(entry).astype(np.float32)

    def load_state(self, net: Any, state: dict[str, np.ndarray]) -> tuple[list[str], list[str]]:
        """Write each array of ``state`` into the entry of its name; (missing, unexpected).

        Raises ValueError, naming the entry, when an array's shape does not fit.
        """
        entries = self.state_entries(net)
        for name, value in state.items():
            if name in entries:
                value = np.asarray(value)
                shape = self.shape(entries[name])
                if tuple(value.shape) != shape:
                    raise ValueError(
                        f"{name} has shape {tuple(value.shape)} in the state but "
                        f"{shape} in the net"
                    )
                self.set_numpy(entries[name], value)
        return (
            [name for name in entries if name not in state],
            [name for name in state if name not in entries],
        )

    def grads(self, net: Any, X: np.ndarray, params: Sequence[Any]) -> list[np.ndarray]:
        """Gradients of ``net(X).sum()`` with respect to ``params``."""
        raise NotImplementedError


class PyTorch(Framework):
    key, parameter_class = "pytorch", "nn.Parameter"
    title = FRAMEWORK_NAMES[key]

    @functools.cached_property
    def torch(self) -> Any:
        import torch

        return torch

    @property
    def nn(self) -> Any:
        return self.torch.nn

    def dense(self, out, in_, *, bias=True, relu=False):
        layer = self.nn.Linear(in_, out, bias=bias)
        return self.nn.Sequential(layer, self.nn.ReLU()) if relu else layer

    def relu(self):
        return self.nn.ReLU()

    def batchnorm(self, n):
        return self.nn.BatchNorm1d(n)

    def batchnorm2d(self, n):
        return self.nn.BatchNorm2d(n)

    def conv2d(self, out, in_, k):
        return self.nn.Conv2d(in_, out, kernel_size=k)

    def flatten(self):
        return self.nn.Flatten()

    def sequential(self, children):
        return self.nn.Sequential(*children)

    def chain(self, named):
        net = self.nn.Sequential()
        for name, child in named.items():
            net.add_module(name, child)
        return net

    def deferred_mlp(self, widths, d):
        layers: list[Any] = []
        for width in widths[:-1]:
            layers += [self.nn.LazyLinear(width), self.nn.ReLU()]
        layers.append(self.nn.LazyLinear(widths[-1]))
        with quiet():
            return self.nn.Sequential(*layers)

    def named_parameters(self, net):
        return dict(net.named_parameters())

    def dense_layers(self, net):
        return [m for m in net.modules() if isinstance(m, self.nn.Linear)]

    def shape(self, param):
        if self.nn.parameter.is_lazy(param):
            return None
        return tuple(int(s) for s in param.shape)

    def numpy(self, value):
        if isinstance(value, self.torch.Tensor):
            return value.detach().cpu().numpy().astype(np.float64)
        return np.asarray(value, dtype=np.float64)

    def set_numpy(self, param, value):
        with self.torch.no_grad():
            param.copy_(self.torch.as_tensor(value, dtype=param.dtype))

    def is_parameter(self, obj):
        return isinstance(obj, self.nn.Parameter)

    def is_tensor(self, obj):
        return isinstance(obj, self.torch.Tensor)

    def forward(self, net, X):
        with quiet(), self.torch.no_grad():
            return self.numpy(net(self.torch.as_tensor(X, dtype=self.torch.float32)))

    def predict(self, net, X):
        net.eval()
        return self.forward(net, X)

    def state_entries(self, net):
        return net.state_dict(keep_vars=True)

    def _array(self, entry):
        if entry.dtype == self.torch.int64:  # BatchNorm's num_batches_tracked
            return entry.detach().cpu().numpy().astype(np.int64)
        return super()._array(entry)

    def grads(self, net, X, params):
        with quiet():
            out = net(self.torch.as_tensor(X, dtype=self.torch.float32)).sum()
            return [self.numpy(g) for g in self.torch.autograd.grad(out, list(params))]


class MXNet(Framework):
    key, parameter_class = "mxnet", "gluon Parameter"
    title = FRAMEWORK_NAMES[key]
    step = 1

    @functools.cached_property
    def mx(self) -> Any:
        np.bool = bool  # MXNet 1.9.1 still uses np.bool, removed in numpy 1.24
        import mxnet

        return mxnet

    @property
    def nn(self) -> Any:
        return self.mx.gluon.nn

    def dense(self, out, in_, *, bias=True, relu=False):
        return self.nn.Dense(out, in_units=in_, use_bias=bias, activation="relu" if relu else None)

    def relu(self):
        return self.nn.Activation("relu")

    def hidden(self, out, in_):
        return [self.dense(out, in_, relu=True)]

    def batchnorm(self, n):
        return self.nn.BatchNorm(in_channels=n)

    def batchnorm2d(self, n):
        return self.nn.BatchNorm(in_channels=n)  # normalizes axis 1, whatever the rank

    def conv2d(self, out, in_, k):
        return self.nn.Conv2D(out, kernel_size=k, in_channels=in_)

    def flatten(self):
        return self.nn.Flatten()

    def sequential(self, children):
        net = self.nn.Sequential()
        for child in children:
            net.add(child)
        return net

    def chain(self, named):
        return _chain(self.nn.Block, "forward")(named)

    def mlp(self, sizes):
        net = super().mlp(sizes)
        with quiet():
            net.initialize()
        return net

    def deferred_mlp(self, widths, d):
        net = self.nn.Sequential()
        for width in widths[:-1]:
            net.add(self.nn.Dense(width, activation="relu"))
        net.add(self.nn.Dense(widths[-1]))
        with quiet():
            net.initialize()
        return net

    def apply_initializer(self, net, initializer):
        # Gluon takes an Initializer instance; accept the class as well.
        if isinstance(initializer, type):
            initializer = initializer()
        net.initialize(initializer, force_reinit=True)

    def ready(self, net, d):
        with quiet():
            net.initialize()  # a no-op, with a (silenced) warning, if already initialized
        super().ready(net, d)

    def first_forward(self, net, X):
        with quiet():
            net.initialize()
        return super().first_forward(net, X)

    def initialize(self, net):
        with quiet():
            net.initialize()

    def state_entries(self, net):
        # The names save_parameters writes: the net's structure, no kernel-wide counters.
        return dict(net._collect_params_with_prefix())

    def named_parameters(self, net):
        return dict(net.collect_params().items())

    def dense_layers(self, net):
        found: list[Any] = []

        def walk(block: Any) -> None:
            if isinstance(block, self.nn.Dense):
                found.append(block)
            for child in block._children.values():
                walk(child)

        walk(net)
        return found

    def numpy(self, value):
        if isinstance(value, self.mx.gluon.Parameter):
            value = value.data()
        if isinstance(value, self.mx.nd.NDArray):
            return value.asnumpy().astype(np.float64)
        return np.asarray(value, dtype=np.float64)

    def set_numpy(self, param, value):
        param.set_data(self.mx.nd.array(value))

    def is_parameter(self, obj):
        return isinstance(obj, self.mx.gluon.Parameter)

    def is_tensor(self, obj):
        return isinstance(obj, self.mx.nd.NDArray)

    def forward(self, net, X):
        with quiet():
            return self.numpy(net(self.mx.nd.array(X)))

    def grads(self, net, X, params):
        autograd = self.mx.autograd
        with quiet():
            with autograd.record():
                out = net(self.mx.nd.array(X)).sum()
            out.backward()
            return [self.numpy(p.grad()) for p in params]


@functools.cache
def _chain(base: type, method: str) -> type:
    """A block of ``base`` (Gluon's Block, MindSpore's Cell) that holds named children as
    attributes and applies them in order in ``method`` (``forward``, ``construct``)."""

    def __init__(self, named: dict[str, Any]) -> None:
        base.__init__(self)
        self._order = list(named)
        for name, child in named.items():
            setattr(self, name, child)

    def apply(self, x: Any) -> Any:
        for name in self._order:
            x = getattr(self, name)(x)
        return x

    return type("Chain", (base,), {"__init__": __init__, method: apply})


class MindSpore(Framework):
    key, parameter_class = "mindspore", "Parameter"
    title = FRAMEWORK_NAMES[key]

    @functools.cached_property
    def ms(self) -> Any:
        os.environ.setdefault("GLOG_v", "3")  # keep MindSpore's [WARNING] lines off stderr
        import mindspore

        return mindspore

    @property
    def nn(self) -> Any:
        return self.ms.nn

    def dense(self, out, in_, *, bias=True, relu=False):
        layer = self.nn.Dense(in_, out, has_bias=bias)
        return self.nn.SequentialCell([layer, self.nn.ReLU()]) if relu else layer

    def relu(self):
        return self.nn.ReLU()

    def batchnorm(self, n):
        return self.nn.BatchNorm1d(n)

    def batchnorm2d(self, n):
        return self.nn.BatchNorm2d(n)

    def conv2d(self, out, in_, k):
        # MindSpore's defaults pad ("same") and have no bias; PyTorch's and MXNet's do not.
        return self.nn.Conv2d(in_, out, kernel_size=k, pad_mode="valid", has_bias=True)

    def flatten(self):
        return self.nn.Flatten()

    def sequential(self, children):
        return self.nn.SequentialCell(list(children))

    def chain(self, named):
        return _chain(self.nn.Cell, "construct")(named)

    def deferred_mlp(self, widths, d):
        # MindSpore has no deferred initialization: every size is given up front.
        return self.mlp([d, *widths])

    def named_parameters(self, net):
        return dict(net.parameters_and_names())

    def dense_layers(self, net):
        return [cell for _, cell in net.cells_and_names() if isinstance(cell, self.nn.Dense)]

    def numpy(self, value):
        if isinstance(value, self.ms.Tensor):
            return value.asnumpy().astype(np.float64)
        return np.asarray(value, dtype=np.float64)

    def set_numpy(self, param, value):
        param.set_data(self.ms.Tensor(np.asarray(value, dtype=np.float32)))

    def is_parameter(self, obj):
        return isinstance(obj, self.ms.Parameter)

    def is_tensor(self, obj):
        return isinstance(obj, self.ms.Tensor)

    def forward(self, net, X):
        with quiet():
            return self.numpy(net(self.ms.Tensor(np.asarray(X, dtype=np.float32))))

    def predict(self, net, X):
        net.set_train(False)
        return self.forward(net, X)

    def state_entries(self, net):
        # The names save_checkpoint writes: each parameter's own name.
        return {param.name: param for param in net.get_parameters()}

    def grads(self, net, X, params):
        with quiet():
            grad_fn = self.ms.grad(lambda x: net(x).sum(), grad_position=None, weights=list(params))
            return [self.numpy(g) for g in grad_fn(self.ms.Tensor(np.asarray(X, np.float32)))]


_ADAPTERS: dict[str, Framework] = {}


def get(framework: str) -> Framework:
    """The adapter for ``framework`` (one of ``pytorch``, ``mxnet``, ``mindspore``)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    if framework not in _ADAPTERS:
        _ADAPTERS[framework] = {"pytorch": PyTorch, "mxnet": MXNet, "mindspore": MindSpore}[
            framework
        ]()
    return _ADAPTERS[framework]
