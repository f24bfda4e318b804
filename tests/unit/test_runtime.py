"""Process-wide settings of the command line: BLAS on one thread unless the environment says
otherwise, and only before numpy is imported."""

from __future__ import annotations

import os
import subprocess
import sys

SHOW = (
    "import os\n"
    "from trimtab.runtime import one_blas_thread\n"
    "print(one_blas_thread(), os.environ.get('OPENBLAS_NUM_THREADS'))\n"
)


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_blas_keeps_to_one_thread() -> None:
    assert _run(SHOW) == "True 1"


def test_a_thread_count_the_environment_gives_is_kept() -> None:
    assert _run(SHOW, OPENBLAS_NUM_THREADS="3") == "True 3"


def test_too_late_once_numpy_is_imported() -> None:
    assert _run("import numpy\n" + SHOW) == "False None"


def test_the_command_line_sets_it_before_numpy_loads() -> None:
    code = (
        "import os, sys\n"
        "from trimtab.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    )
    assert _run(code).splitlines()[-1] == "1"
