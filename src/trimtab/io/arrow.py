"""numpy to Arrow without pyarrow's pandas check.

``pa.array`` and ``pa.scalar`` first ask whether their input is a pandas object, which imports
pandas (0.3–0.4 s) whenever it is installed. The batch commands never hand pyarrow pandas
objects, so their hot start-up path builds arrays straight from buffers instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa


def from_numpy(values: npt.NDArray[np.generic]) -> pa.Array:
    """A 1-d numeric or boolean numpy array as an Arrow array (numbers share the buffer)."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values.view(np.uint8), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def strings(values: Sequence[str]) -> pa.Array:
    """Python strings as an Arrow string array."""
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = b"".join(encoded)
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


_NUMPY_TYPES = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}


def as_numpy(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    """An Arrow numeric or boolean array without nulls as numpy (numbers share the buffer);
    anything else through pyarrow's own conversion."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if values.null_count == 0:
        n, offset = len(values), values.offset
        if values.type in _NUMPY_TYPES:
            dtype = np.dtype(_NUMPY_TYPES[values.type])
            return np.frombuffer(values.buffers()[1], dtype=dtype, count=n + offset)[offset:]
        if values.type == pa.bool_():
            bits = np.frombuffer(values.buffers()[1], dtype=np.uint8)
            return np.unpackbits(bits, bitorder="little", count=n + offset)[offset:].astype(bool)
    out: npt.NDArray[Any] = values.to_numpy(zero_copy_only=False)
    return out
