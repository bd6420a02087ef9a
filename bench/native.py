"""llama.cpp's own ``llama-bench``, built once from the very source llama-cpp-python vendors.

The side-by-side ratio in ``bench.llm`` needs a native baseline compiled from the same
llama.cpp commit as the installed wheel. This module:

1. reads the installed llama-cpp-python version (``importlib.metadata``, no heavy import);
2. ``pip download``s that exact sdist from PyPI (``--no-binary :all: --no-deps``) into the
   cache, unless it is already there;
3. extracts ``vendor/llama.cpp`` and builds only the ``llama-bench`` target with cmake, with
   the wheel's own configuration (Release, shared libraries, ``GGML_NATIVE`` as pip builds it
   by default, no curl);
4. runs it and parses its JSON output.

Everything lands in ``<cache>/llama-bench/<version>/`` (``HEARTH_BENCH_CACHE`` or the
platform cache dir): a second run reuses the built binary. Building takes several minutes
on 2 cores; it needs ``cmake`` and a C++ compiler (``ninja`` is used when present). When one
is missing :func:`ensure_llama_bench` raises :class:`NativeUnavailableError` naming it.

``run_llama_bench(..., wheel_libs=True)`` makes the binary load the *installed wheel's*
``libllama``/``libggml`` (``LD_LIBRARY_PATH`` beats the RUNPATH cmake writes), so the only
difference left between the two sides is the Python layer.

Run on its own to build (and print the binary's path)::

    .venv/bin/python -m bench.native
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "llama-cpp-python"


class NativeUnavailableError(RuntimeError):
    """The native baseline cannot be built here (the message says what is missing)."""


@dataclass(frozen=True, slots=True)
class NativeResult:
    n_prompt: int
    n_gen: int
    threads: int
    n_batch: int
    tokens_per_s: float
    stddev: float
    repetitions: int


def cache_root() -> Path:
    value = os.environ.get("HEARTH_BENCH_CACHE")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hearth-bench"


def installed_version() -> str:
    return importlib.metadata.version(PACKAGE)


def wheel_lib_dir() -> Path:
    """Where the installed wheel keeps libllama.so and the ggml libraries."""
    spec_files = importlib.metadata.files(PACKAGE) or []
    for file in spec_files:
        if file.name.startswith("libllama"):
            return Path(str(file.locate())).parent
    raise NativeUnavailableError("the installed llama-cpp-python has no libllama in llama_cpp/lib")


def _log(message: str) -> None:
    print(f"[native] {message}", file=sys.stderr, flush=True)


def _require_tools() -> list[str]:
    missing = [tool for tool in ("cmake", "c++") if shutil.which(tool) is None]
    if missing:
        raise NativeUnavailableError(
            "building llama-bench needs "
            + " and ".join(missing)
            + " (Debian: apt-get install cmake g++); the native ratio is skipped"
        )
    return ["-G", "Ninja"] if shutil.which("ninja") else []


def _sdist(version: str, root: Path) -> Path:
    downloads = root / "sdist"
    found = sorted(downloads.glob(f"llama_cpp_python-{version}.tar.gz"))
    if found:
        return found[0]
    downloads.mkdir(parents=True, exist_ok=True)
    _log(f"downloading the {PACKAGE}=={version} sdist from PyPI")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"{PACKAGE}=={version}",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(downloads),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    found = sorted(downloads.glob(f"llama_cpp_python-{version}.tar.gz"))
    if not found:
        raise NativeUnavailableError(
            f"pip download did not leave the {version} sdist in {downloads}"
        )
    return found[0]


def _extract(sdist: Path, root: Path, version: str) -> Path:
    source = root / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if (source / "CMakeLists.txt").is_file():
        return source
    _log(f"extracting {sdist.name}")
    with tarfile.open(sdist) as archive:
        archive.extractall(root, filter="data")
    if not (source / "CMakeLists.txt").is_file():
        raise NativeUnavailableError(f"{sdist.name} has no vendor/llama.cpp")
    return source


def ensure_llama_bench() -> Path:
    """The path of a built ``llama-bench`` for the installed version (builds it if needed)."""
    version = installed_version()
    root = cache_root() / "llama-bench" / version
    binary = root / "build" / "bin" / "llama-bench"
    if binary.is_file():
        return binary
    generator = _require_tools()
    root.mkdir(parents=True, exist_ok=True)
    source = _extract(_sdist(version, root), root, version)
    build = root / "build"
    _log(f"configuring llama.cpp in {build}")
    subprocess.run(
        [
            "cmake",
            "-S",
            str(source),
            "-B",
            str(build),
            *generator,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBUILD_SHARED_LIBS=ON",
            "-DLLAMA_CURL=OFF",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
            "-DLLAMA_BUILD_SERVER=OFF",
            "-DLLAMA_BUILD_TOOLS=ON",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    jobs = str(max(1, min(2, os.cpu_count() or 1)))
    _log(f"building llama-bench with {jobs} jobs (several minutes on 2 cores)")
    subprocess.run(
        ["cmake", "--build", str(build), "--target", "llama-bench", "-j", jobs],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not binary.is_file():
        raise NativeUnavailableError(f"the build finished without {binary}")
    return binary


def run_llama_bench(
    binary: Path,
    model: Path,
    *,
    n_prompt: int,
    n_gen: int,
    threads: int,
    n_batch: int,
    n_ubatch: int | None = None,
    n_depth: int = 0,
    repetitions: int = 3,
    flash_attn: bool = False,
    wheel_libs: bool = True,
) -> list[NativeResult]:
    """One ``llama-bench`` invocation: a result for the prompt test and/or one for generation.

    llama-bench times ``pp`` (one prompt of ``n_prompt`` tokens, batches of ``n_batch``) and
    ``tg`` (``n_gen`` tokens generated one by one) separately, each ``repetitions`` times
    after a warm-up run, and reports the mean tokens/s; ``n_depth`` tokens are in the KV cache
    before each test. ``flash_attn`` is passed explicitly:
    llama-bench's default (auto) would differ from the engine's.
    """
    env = dict(os.environ)
    if wheel_libs:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(wheel_lib_dir()), env.get("LD_LIBRARY_PATH", "")) if p
        )
    command = [
        str(binary),
        "-m",
        str(model),
        "-p",
        str(n_prompt),
        "-n",
        str(n_gen),
        "-t",
        str(threads),
        "-b",
        str(n_batch),
        "-ub",
        str(n_ubatch or n_batch),
        "-d",
        str(n_depth),
        "-r",
        str(repetitions),
        "-fa",
        "1" if flash_attn else "0",
        "-o",
        "json",
    ]
    proc = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    if proc.returncode != 0:
        raise NativeUnavailableError(
            f"llama-bench failed ({proc.returncode}): {proc.stderr[-500:]}"
        )
    rows = json.loads(proc.stdout)
    return [
        NativeResult(
            n_prompt=int(row["n_prompt"]),
            n_gen=int(row["n_gen"]),
            threads=int(row["n_threads"]),
            n_batch=int(row["n_batch"]),
            tokens_per_s=float(row["avg_ts"]),
            stddev=float(row["stddev_ts"]),
            repetitions=repetitions,
        )
        for row in rows
    ]


def main() -> int:
    try:
        binary = ensure_llama_bench()
    except NativeUnavailableError as exc:
        print(f"native baseline unavailable: {exc}", file=sys.stderr)
        return 1
    print(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
