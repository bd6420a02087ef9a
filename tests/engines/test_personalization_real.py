"""Personalization with the real models: PEFT and llama.cpp agree, training survives kill -9,
yields to a turn, changes the answers' style, and rolling back restores the base answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from app.core.cancel import CancelToken
from app.core.errors import ModelError
from app.core.gate import ForegroundGate
from app.core.ports import ChatMessage
from app.engines.llama_llm import LlamaLanguageModel
from app.engines.models import ModelRegistry
from app.personalization.service import BaseModel, Personalization
from app.settings import DEFAULT_MODEL, FAST_MODEL, Paths

from tests.conftest import hearth_env, require, run_hearth, shared_cache_dir
from tests.e2e.test_cli import unshare_available

pytestmark = [pytest.mark.model, pytest.mark.slow]

STYLE_FILE = Path(__file__).parents[1] / "data" / "style_examples.jsonl"
PROMPTS = (
    "The capital of France is",
    "def fibonacci(n):",
    "<|im_start|>user\nWrite a haiku about tea.<|im_end|>\n<|im_start|>assistant\n",
    "Shopping list: eggs, milk,",
)


def base_model(model_id: str) -> BaseModel:
    registry = ModelRegistry(shared_cache_dir())
    try:
        resolved = registry.resolve(model_id)
    except ModelError as exc:
        require(False, f"model {model_id} unavailable: {exc.message}")
        raise
    spec = registry.spec(model_id)
    return BaseModel(spec.id, spec.title, resolved.path, spec.files[0].sha256)


def logits_of(llm: Any, ids: list[int]) -> Any:
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)])


@pytest.mark.parametrize("model_id", [FAST_MODEL, DEFAULT_MODEL])
def test_peft_and_llama_cpp_agree_with_the_adapter_on(model_id: str, tmp_path: Path) -> None:
    """LoRAs with random B matrices, written as GGUF adapters, on both architectures.

    1. On every linear layer at a modest size: llama.cpp (quantized base + adapter) picks the
       same next token as PEFT at nearly every position of a fixed prompt set.
    2. On q and k only, large: the adapter moves llama.cpp's logits as it moves PEFT's
       (correlation of the two changes). SmolLM2 is llama-family, whose q/k rows llama.cpp
       permutes: with the B rows not permuted to match, this fell from 0.98 to 0.18 here.
    """
    import ctypes

    import llama_cpp
    import torch
    from app.personalization import lora_model
    from app.personalization.base_weights import convert
    from app.personalization.export import write_gguf_adapter

    model = base_model(model_id)
    base = convert(model.path, model.sha256, shared_cache_dir() / "personalization" / "base")
    torch.manual_seed(3)  # before add_lora: its A matrices are random too
    peft_model = lora_model.add_lora(
        lora_model.load_base(base, checkpointing=False), rank=8, alpha=16
    )
    peft_model.eval()
    llm = llama_cpp.Llama(
        model_path=str(model.path), n_ctx=256, n_threads=2, logits_all=True, verbose=False
    )

    def measure(std: float, only_qk: bool) -> tuple[int, int, float]:
        """(top-1 agreements, positions, correlation of the adapter's effect)."""
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                wanted = not only_qk or "q_proj" in name or "k_proj" in name
                parameter.data.normal_(0, std) if wanted else parameter.data.zero_()
        state = {k: v for k, v in peft_model.state_dict().items() if "lora_" in k}
        adapter = tmp_path / f"adapter-{std}-{only_qk}.gguf"
        write_gguf_adapter(
            adapter, state, config=base.config, alpha=16, base_sha256=model.sha256, name="t"
        )
        pointer = llama_cpp.llama_adapter_lora_init(llm._model.model, str(adapter).encode())
        assert pointer, "llama.cpp refused the adapter"
        agree = total = 0
        deltas_torch, deltas_cpp = [], []
        for prompt in PROMPTS:
            ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
            with torch.no_grad():
                on = peft_model(input_ids=torch.tensor([ids])).logits[0].float().numpy()
                with peft_model.disable_adapter():
                    off = peft_model(input_ids=torch.tensor([ids])).logits[0].float().numpy()
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(pointer)
            scales = (ctypes.c_float * 1)(1.0)
            assert llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, adapters, 1, scales) == 0
            cpp_on = logits_of(llm, ids)
            assert llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None) == 0
            cpp_off = logits_of(llm, ids)
            agree += int((on.argmax(-1) == cpp_on.argmax(-1)).sum())
            total += len(ids)
            deltas_torch.append((on - off).ravel())
            deltas_cpp.append((cpp_on - cpp_off).ravel())
        llama_cpp.llama_adapter_lora_free(pointer)
        flat_torch, flat_cpp = np.concatenate(deltas_torch), np.concatenate(deltas_cpp)
        assert float(np.abs(flat_torch).max()) > 0.5, "the adapter should change the logits"
        return agree, total, float(np.corrcoef(flat_torch, flat_cpp)[0, 1])

    try:
        agree, total, _ = measure(0.02, only_qk=False)
        _, _, correlation = measure(0.3, only_qk=True)
    finally:
        llm.close()
    assert agree / total >= 0.9, f"top-1 agreed on {agree}/{total} positions"
    assert correlation >= 0.9, f"q/k adapters move the logits differently: {correlation:.3f}"


def test_the_engine_switches_adapters_on_a_live_model_and_back(tmp_path: Path) -> None:
    """set_adapter changes the next answer without a reload; None gives the base answer back."""
    from app.personalization.export import write_gguf_adapter

    model = base_model(FAST_MODEL)
    from app.personalization.base_weights import convert

    base = convert(model.path, model.sha256, shared_cache_dir() / "personalization" / "base")
    rng = np.random.default_rng(0)
    hidden = int(base.config["hidden_size"])
    state = {}
    for layer in range(int(base.config["num_hidden_layers"])):
        key = f"base_model.model.model.layers.{layer}.mlp.down_proj"
        inner = int(base.config["intermediate_size"])
        state[f"{key}.lora_A.weight"] = rng.normal(0, 0.05, (8, inner)).astype(np.float32)
        state[f"{key}.lora_B.weight"] = rng.normal(0, 0.05, (hidden, 8)).astype(np.float32)
    adapter = tmp_path / "adapter.gguf"
    write_gguf_adapter(adapter, state, config=base.config, alpha=16, base_sha256="x", name="t")
    llm = LlamaLanguageModel(model.path, name="fast", n_ctx=512, n_threads=2)
    messages = [ChatMessage("user", "Name three colours.")]

    def answer() -> str:
        return "".join(llm.stream(messages, max_tokens=24, temperature=0.0, cancel=CancelToken()))

    try:
        plain = answer()
        llm.set_adapter(adapter)
        changed = answer()
        llm.set_adapter(None)
        back = answer()
    finally:
        llm.close()
    assert changed != plain
    assert back == plain


def read_stat(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]


def test_training_survives_kill_9_yields_to_a_turn_and_learns_the_style(
    hearth_exe: str, tmp_path: Path
) -> None:
    """The whole story on the fast model, as a user would run it:

    1. a style file is imported and a run starts; after its first checkpoint it is killed
       with SIGKILL; a new run of the same data resumes at that step;
    2. while a turn holds the foreground gate the training process is stopped (no step
       advances) and continues when the turn ends;
    3. that run is cancelled; `hearth personalize train` (with the network cut) resumes it to
       the end, evaluates it and switches it on (exit 0);
    4. `hearth ask` answers in the learned style; `hearth personalize off` gives back the
       base model's answer, word for word.
    """
    from app.personalization.runner import TrainingProcess

    require(unshare_available(), "unshare -n (a private network namespace) is not permitted")
    env = hearth_env(tmp_path)
    paths = Paths(data_dir=Path(env["HEARTH_DATA_DIR"]), cache_dir=shared_cache_dir())
    question = "How do I keep my houseplants alive?"

    def ask() -> str:
        done = run_hearth(hearth_exe, tmp_path, "ask", "--model", "fast", question)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    before = ask()
    assert not before.startswith("In short:")

    model = base_model(FAST_MODEL)
    service = Personalization(paths.data_dir, paths.cache_dir, None)
    examples, problems = service.import_file(STYLE_FILE)
    assert len(examples) == 36 and not problems
    from app.core.assistant import DEFAULT_SYSTEM_PROMPT

    job = service.prepare_job(
        model,
        service.dataset(),
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        steps=24,
        learning_rate=1e-3,
    )
    first = TrainingProcess(job)
    killed_at = None
    for event in first.events():
        if event["event"] == "checkpoint" and event["step"] >= 2:
            killed_at = event["step"]
            os.kill(first.pid, signal.SIGKILL)
        if event["event"] == "exit":
            break
    assert killed_at is not None
    assert first.process.returncode == -signal.SIGKILL

    gate = ForegroundGate()
    second = TrainingProcess(
        service.prepare_job(
            model,
            service.dataset(),
            system_prompt=DEFAULT_SYSTEM_PROMPT,
            steps=24,
            learning_rate=1e-3,
        ),
        gate=gate,
    )
    assert second.folder == job, "the same data resumes the unfinished job"
    events = second.events()
    resumed = next(e for e in events if e["event"] in ("resumed", "error", "exit"))
    assert resumed["event"] == "resumed" and resumed["step"] == killed_at
    step = next(e for e in events if e["event"] == "step")
    assert step["step"] == killed_at + 1

    with gate.held("turn"):
        deadline = time.monotonic() + 10
        while read_stat(second.pid) != "T" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read_stat(second.pid) == "T", "training must stop while a turn runs"
        assert second.yielding
        time.sleep(3)
        assert read_stat(second.pid) == "T"
    deadline = time.monotonic() + 10
    while read_stat(second.pid) == "T" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_stat(second.pid) != "T"
    following = next(e for e in events if e["event"] == "step")
    assert following["step"] == step["step"] + 1
    second.cancel()
    assert list(events)[-1]["event"] == "exit"

    report = tmp_path / "privacy.json"
    trained = subprocess.run(
        ["unshare", "-n", hearth_exe, "personalize", "train", "--model", "fast"],
        env=hearth_env(tmp_path, HEARTH_PRIVACY_REPORT=str(report)),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "v1 is now active" in trained.stdout
    assert "resuming at step" in trained.stderr
    for path in (report, Path(f"{report}.training")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["installed"] is True and data["blocked"] == []

    status = run_hearth(hearth_exe, tmp_path, "personalize", "status", "--json", "--model", "fast")
    assert json.loads(status.stdout)["active"] == "v1"
    listed = run_hearth(hearth_exe, tmp_path, "personalize", "list", "--model", "fast")
    assert listed.stdout.startswith("v1 ") and "[active]" in listed.stdout

    styled = ask()
    assert styled.startswith("In short:"), styled
    off = run_hearth(hearth_exe, tmp_path, "personalize", "off", "--model", "fast")
    assert off.returncode == 0, off.stderr
    assert ask() == before
    assert (
        run_hearth(hearth_exe, tmp_path, "personalize", "use", "v1", "--model", "fast").returncode
        == 0
    )
    assert ask() == styled  # and back again
    unknown = run_hearth(hearth_exe, tmp_path, "personalize", "use", "v9", "--model", "fast")
    assert unknown.returncode == 2 and "has no adapter v9" in unknown.stderr
