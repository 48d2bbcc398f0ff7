"""Helpers shared by the answer checks: quiet calls into learner code, plain-words failures."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Python warnings: nbgrader scores a test cell 0 if anything reaches stderr.

    Only warnings are silenced (MXNet's "already initialized", lazy-module notices, ...);
    exceptions still propagate, so a wrong answer still fails.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def fail(message: str) -> None:
    """Fail the check with a message written for the learner."""
    raise AssertionError(message)


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        fail(message)


def call(fn: Callable[..., Any], *args: Any, shown: str | None = None) -> Any:
    """Call the learner's ``fn`` quietly; an exception becomes a one-line failure."""
    if not callable(fn):
        fail(f"expected a function or class, got {type(fn).__name__} {fn!r}")
    name = getattr(fn, "__name__", "your function")
    shown = shown if shown is not None else ", ".join(_short(a) for a in args)
    try:
        with quiet():
            return fn(*args)
    except NotImplementedError:
        fail(f"{name}({shown}) raised NotImplementedError: the answer is not written yet")
    except Exception as error:  # noqa: BLE001 - any error of the learner's code is a failure
        fail(f"{name}({shown}) raised {describe(error)}")


def describe(error: BaseException) -> str:
    """``TypeName: first line of the message`` (MindSpore appends a C++ call stack)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) > 40 or "\n" in text:
        return type(value).__name__
    return text


def rng() -> np.random.Generator:
    """A fresh, unseeded generator: hidden checks draw new inputs on every run."""
    return np.random.default_rng()


def as_shape(value: Any) -> tuple[int, ...] | None:
    """``value`` as a tuple of ints (tuple, list, torch.Size, ...), or None if it is not one."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return None
    return tuple(int(v) for v in value)


def shape_text(shape: Any) -> str:
    """A shape as the learner would write it: ``(8, 4)``, ``(8,)``, ``None``."""
    if shape is None:
        return "None"
    if isinstance(shape, tuple) and all(isinstance(v, int) for v in shape):
        return str(shape) if len(shape) != 1 else f"({shape[0]},)"
    return repr(shape)


def number(value: float) -> str:
    """A float with four significant digits, as in the failure messages."""
    return f"{value:.4g}"
