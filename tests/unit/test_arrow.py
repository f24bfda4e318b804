"""The buffer-level numpy/Arrow conversions agree with pyarrow's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trimtab.io.arrow import as_numpy, from_numpy, strings


@given(st.lists(st.floats(allow_nan=False), max_size=50), st.integers(0, 5))
def test_floats_round_trip(values: list[float], offset: int) -> None:
    arr = np.array(values, dtype=np.float64)
    assert from_numpy(arr).equals(pa.array(arr))
    sliced = pa.array(values + [0.0] * offset, type=pa.float64()).slice(offset)
    assert as_numpy(sliced).tolist() == sliced.to_pylist()


@given(st.lists(st.booleans(), max_size=70), st.integers(0, 9))
def test_booleans_round_trip(values: list[bool], offset: int) -> None:
    arr = np.array(values, dtype=bool)
    assert from_numpy(arr).to_pylist() == values
    padded = pa.array([False] * offset + values, type=pa.bool_()).slice(offset)
    assert as_numpy(padded).tolist() == values


@given(st.lists(st.text(max_size=8), max_size=20))
def test_strings(values: list[str]) -> None:
    assert strings(values).to_pylist() == values


@pytest.mark.parametrize("kind", [np.int32, np.int64, np.uint8])
def test_integers_and_chunks(kind: type[np.integer]) -> None:
    chunked = pa.chunked_array(
        [pa.array([1, 2], pa.from_numpy_dtype(kind)), pa.array([3], pa.from_numpy_dtype(kind))]
    )
    assert as_numpy(chunked).tolist() == [1, 2, 3]
    assert from_numpy(np.array([4, 5], dtype=kind)).to_pylist() == [4, 5]


def test_drift_command_does_not_import_pandas(tmp_path: Path) -> None:
    book = tmp_path / "book"
    subprocess.run(
        [sys.executable, "-m", "trimtab", "demo-book", str(book), "--accounts", "30"],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys\n"
        "from trimtab.cli import main\n"
        "try:\n"
        f"    main(['drift', {str(book)!r}, '--out', {str(tmp_path / 'd.parquet')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
