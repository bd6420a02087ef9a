"""Gather the licences of everything the installer bundles, and the source the GPL asks for.

    python packaging/collect_licences.py DEST VERSION

Run with the packaging environment's Python (it reads that environment's installed
distributions). Writes into DEST:

- ``README.md``: one line per bundled distribution (name, version, licence) and per model;
- ``python/<name>-<version>/``: every licence, notice and copying file the distribution ships;
- ``hearth/COPYING``: Hearth's own licence (GPL-3.0-or-later);
- ``SOURCE.md`` and ``source/``: the complete corresponding source of Hearth (this checkout,
  ``git archive``) and of the bundled (L)GPL Python packages (their sdists from PyPI, checked
  against the index's sha256); Qt's source is offered by its URL.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LICENCE_FILE = re.compile(r"(licen[cs]e|copying|notice|authors|copyright)", re.IGNORECASE)
COPYLEFT = re.compile(r"\bL?GPL|General Public", re.IGNORECASE)
# Source published by the Qt Company for the Qt libraries inside PySide6 (LGPL-3.0).
QT_SOURCE = "https://download.qt.io/official_releases/qt/{minor}/{version}/single/"


def shipped_distributions() -> list[metadata.Distribution]:
    """The distributions of this environment that go into the bundle, once each by name: all
    but the build tools (pip, setuptools, wheel, PyInstaller and its hooks). The spec copies
    exactly these distributions' metadata; their licences are gathered here."""
    out: list[metadata.Distribution] = []
    seen: set[str] = set()
    for dist in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen or key in {"pip", "setuptools", "wheel"} or key.startswith("pyinstaller"):
            continue
        seen.add(key)
        out.append(dist)
    return out


def licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    text = meta.get("License-Expression") or ""
    if not text:
        first = (meta.get("License") or "").strip().splitlines()
        text = first[0] if first and len(first[0]) < 80 else ""
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    if not text and classifiers:
        text = "; ".join(classifiers)
    return text or "see the files beside this entry"


def copy_licence_files(dist: metadata.Distribution, dest: Path) -> list[str]:
    copied: list[str] = []
    for entry in dist.files or []:
        name = Path(str(entry)).name
        if not LICENCE_FILE.search(name) or name.endswith((".py", ".pyc", ".pyi")):
            continue
        source = Path(str(dist.locate_file(entry)))
        if not source.is_file() or source.stat().st_size > 2_000_000:
            continue
        target = dest / name
        if target.exists():  # the same name in two folders: keep both
            target = dest / f"{Path(str(entry)).parent.name}-{name}"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(target.name)
    return copied


def fetch_sdist(name: str, version: str, dest: Path) -> str:
    """Download ``name==version``'s sdist from PyPI, checked against the index's sha256."""
    request = urllib.request.Request(
        f"https://pypi.org/simple/{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - https only
        index = json.load(response)
    stem = re.escape(name.replace("-", "_")).replace("_", "[-_]")
    wanted = re.compile(rf"^{stem}-{re.escape(version)}\.tar\.gz$", re.IGNORECASE)
    for item in index["files"]:
        if wanted.match(item["filename"]):
            target = dest / item["filename"]
            if not item["url"].startswith("https://"):
                raise SystemExit(f"{item['filename']}: not served over https")
            with urllib.request.urlopen(item["url"], timeout=300) as response:  # noqa: S310
                data = response.read()
            if hashlib.sha256(data).hexdigest() != item["hashes"]["sha256"]:
                raise SystemExit(f"{item['filename']}: checksum differs from PyPI's index")
            target.write_bytes(data)
            return target.name
    raise SystemExit(f"no source archive of {name} {version} on PyPI")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    dest, version = Path(sys.argv[1]), sys.argv[2]
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "hearth").mkdir(parents=True)
    (dest / "source").mkdir()
    shutil.copyfile(ROOT / "COPYING", dest / "hearth" / "COPYING")

    rows: list[tuple[str, str, str]] = []
    copyleft: list[tuple[str, str, str]] = []
    for dist in shipped_distributions():  # the bootloader's licence is written below
        name = dist.metadata["Name"]
        licence = licence_of(dist)
        copy_licence_files(dist, dest / "python" / f"{name}-{dist.version}")
        if name.lower() == "hearth":
            continue
        rows.append((name, dist.version, licence))
        if COPYLEFT.search(licence):
            copyleft.append((name, dist.version, licence))

    manifest = tomllib.loads((ROOT / "models" / "manifest.toml").read_text(encoding="utf-8"))
    lines = [
        f"# Licences of Hearth {version} and of everything inside it",
        "",
        "Hearth itself is free software under the GNU General Public License, version 3 or",
        "later (`hearth/COPYING`). The source it was built from, and that of the bundled",
        "(L)GPL components, is in `source/` (see `SOURCE.md`).",
        "",
        "## Models",
        "",
        "| model | licence | from |",
        "| --- | --- | --- |",
    ]
    for model in manifest["models"]:
        lines.append(f"| {model['title']} | {model['licence']} | {model.get('source', '')} |")
    lines += [
        "",
        "## Python packages and the libraries inside them",
        "",
        "Each package's own licence files are in `python/<name>-<version>/`.",
        "",
        "| package | version | licence |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {n} | {v} | {lic} |" for n, v, lic in rows]
    lines += [
        "",
        "The program that starts Hearth is PyInstaller's bootloader (GPL-2.0-or-later with an",
        "exception that allows its use with any program).",
        "",
    ]
    (dest / "README.md").write_text("\n".join(lines), encoding="utf-8")

    # Hearth's own source, exactly as built (committed files of this checkout).
    archive = dest / "source" / f"hearth-{version}.tar.gz"
    subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "archive",
            "--format=tar.gz",
            f"--prefix=hearth-{version}/",
            "-o",
            str(archive),
            "HEAD",
        ],
        check=True,
    )
    offer = [
        "# Source code",
        "",
        "Hearth and several components inside it are under the GNU GPL or LGPL. Their complete",
        "corresponding source is part of this installation, in this folder's `source/`:",
        "",
        f"- `{archive.name}`: Hearth {version} (GPL-3.0-or-later)",
    ]
    for name, dist_version, licence in copyleft:
        if name.lower().startswith(("pyside6", "shiboken6")):
            continue
        offer.append(f"- `{fetch_sdist(name, dist_version, dest / 'source')}`: {name} ({licence})")
    qt = metadata.version("PySide6_Essentials")
    minor = ".".join(qt.split(".")[:2])
    offer += [
        "",
        f"PySide6 and shiboken6 {qt} with the Qt {qt} libraries inside them are used under the",
        "LGPL-3.0: you may replace the Qt libraries in `_internal/PySide6/Qt/lib` with your own",
        "build. Their source: https://code.qt.io/ (pyside-setup, tag v"
        + qt
        + ") and "
        + QT_SOURCE.format(minor=minor, version=qt)
        + ".",
        "",
    ]
    (dest / "SOURCE.md").write_text("\n".join(offer), encoding="utf-8")
    print(f"licences of {len(rows)} packages and {len(manifest['models'])} models in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
