"""A small randomly initialised open_clip model, built by the tests (no CLIP weights ship on
PyPI): the real code path, with weights that prove nothing about quality."""

from __future__ import annotations

import json
from pathlib import Path

ARCHITECTURE = "hearth-tiny"
TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def make_tiny_checkpoint(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Writes ``tiny.pt`` (a state dict) and its model config; returns both paths."""
    from app.engines.torchvision_compat import import_torchvision

    import_torchvision()
    import open_clip
    import torch

    config = folder / f"{ARCHITECTURE}.json"
    config.write_text(json.dumps(TINY), encoding="utf-8")
    open_clip.add_model_config(config)
    torch.manual_seed(seed)
    model = open_clip.create_model(ARCHITECTURE)
    checkpoint = folder / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint, config
