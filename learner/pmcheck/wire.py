"""The plain data that crosses between a learner's kernel and the judge: JSON, never pickle.

Numbers, strings, booleans, None, lists and string-keyed dicts go as they are (tuples become
lists); numpy arrays go as ``{"__array__": base64, "dtype": ..., "shape": [...]}`` with a
dtype from a short allow-list. :func:`loads` refuses anything larger than
:data:`MAX_BYTES` or shaped otherwise, so hostile data can only fail a check.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

#: Largest payload accepted (the largest honest one, a random initialization, is ~6 MiB).
MAX_BYTES = 32 << 20
#: dtypes an array may have on the wire.
DTYPES = ("float32", "float64", "int64", "bool")


class WireError(ValueError):
    """Data that is not valid on the wire."""


def encode(value: Any) -> Any:
    """``value`` as JSON-able data (arrays base64-encoded); raises WireError on anything else."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {"__float__": repr(number)}
    if isinstance(value, np.ndarray):
        array = value
        if array.dtype.name not in DTYPES:
            array = array.astype(np.float64 if array.dtype.kind in "fc" else np.int64)
        return {
            "__array__": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode(),
            "dtype": array.dtype.name,
            "shape": list(array.shape),
        }
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("dict keys must be strings")
        return {key: encode(item) for key, item in value.items()}
    raise WireError(f"cannot send {type(value).__name__}")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`, checking every array's dtype, shape and length."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        if "__array__" in value:
            return _array(value)
        if "__float__" in value:
            return float(_text(value["__float__"]))
        return {key: decode(item) for key, item in value.items()}
    return value


def _array(value: dict) -> np.ndarray:
    dtype, shape, data = value.get("dtype"), value.get("shape"), value.get("__array__")
    if dtype not in DTYPES or not isinstance(shape, list) or not isinstance(data, str):
        raise WireError("malformed array")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise WireError("malformed array shape")
    raw = base64.b64decode(data.encode(), validate=True)
    count = math.prod(shape)
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise WireError("array data does not fit its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _text(value: Any) -> str:
    if not isinstance(value, str) or value not in ("inf", "-inf", "nan"):
        raise WireError("malformed float")
    return value


def dumps(value: Any) -> str:
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The data in ``text``; WireError if it is too large or not valid wire data."""
    if len(text) > MAX_BYTES:
        raise WireError(f"more than {MAX_BYTES >> 20} MiB of data")
    try:
        return decode(json.loads(text))
    except (RecursionError, json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        raise WireError(str(error)) from None
