"""What an adapter learns from: examples from conversations, edits, ratings and JSONL files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app.personalization import dataset, style
from app.personalization.adapters import AdapterStore
from app.personalization.dataset import Example, Exclusions
from app.personalization.job import JobConfig, Report, verdict
from app.personalization.service import Personalization
from app.personalization.worker import Row, micro_batches, step_examples
from app.store.history import SqliteConversationStore

STYLE_FILE = Path(__file__).parents[1] / "data" / "style_examples.jsonl"


def chat(
    store: SqliteConversationStore, title: str, turns: list[tuple[str, str, dict[str, object]]]
) -> list[int]:
    conversation = store.create_conversation(title)
    ids = []
    for question, reply, meta in turns:
        store.add_message(conversation.id, "user", question)
        ids.append(store.add_message(conversation.id, "assistant", reply, meta).id)
    return ids


@pytest.fixture
def store(tmp_path: Path) -> SqliteConversationStore:
    return SqliteConversationStore(tmp_path / "history.sqlite3")


def test_kept_edited_and_rated_replies_become_examples_and_the_rest_do_not(
    store: SqliteConversationStore,
) -> None:
    model: dict[str, object] = {"model": "Qwen"}
    ids = chat(
        store,
        "kitchen",
        [
            ("How do I boil an egg?", "Put it in boiling water for nine minutes.", model),
            ("And a soft one?", "Six minutes.", model),
            ("What is my boiler's pressure?", "1.5 bar [1].", {**model, "citations": [{"n": 1}]}),
            ("Set a timer for 5 minutes", "Timer set for 5 minutes.", {"handled": "tools"}),
            ("Tell me a joke", "Why did the", {**model, "cancelled": True}),
            ("What is tea?", "A drink.", model),
            ("What is coffee?", "A long, rambling answer.", model),
        ],
    )
    store.update_meta(ids[1], {"edited": "Six minutes, then cold water."})
    store.update_meta(ids[5], {"rating": 1})
    store.update_meta(ids[6], {"rating": -1})

    examples = dataset.from_history(store)

    assert [(e.source, e.target) for e in examples] == [
        ("kept", "Put it in boiling water for nine minutes."),
        ("edited", "Six minutes, then cold water."),
        ("good", "A drink."),
    ]
    # The context of the second example is the conversation so far, with the user's words
    # last; an edited reply in the context reads as the user wrote it.
    assert examples[1].messages == (
        ("user", "How do I boil an egg?"),
        ("assistant", "Put it in boiling water for nine minutes."),
        ("user", "And a soft one?"),
    )
    assert examples[1].conversation_id and examples[1].title == "kitchen"


def test_a_jsonl_file_gives_one_example_per_assistant_reply_and_bad_lines_are_reported(
    tmp_path: Path,
) -> None:
    good = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How are you?"},
            {"role": "assistant", "content": "Fine, thanks."},
        ]
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"messages": [{"role": "robot", "content": "x"}]}),
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}),
        json.dumps({"text": "no messages"}),
        "",
        json.dumps({"messages": [{"role": "user", "content": 3}]}),
        json.dumps(
            {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
        ),
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    examples, problems = dataset.read_jsonl(path)

    assert [e.target for e in examples] == ["Hello!", "Fine, thanks.", "A"]
    assert examples[1].messages == (
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "How are you?"),
    )
    assert [p.line for p in problems] == [2, 3, 4, 5, 7]
    assert str(problems[0]) == "line 2: not valid JSON"
    assert "unknown role 'robot'" in str(problems[1])
    assert "no assistant reply" in str(problems[2])
    assert examples[0].title == "mine.jsonl, line 1"
    # File order is time order, so a held-out split takes the file's last lines.
    assert examples[0].created_at < examples[1].created_at < examples[2].created_at


def test_held_out_examples_are_the_newest_not_a_random_sample() -> None:
    examples = [
        Example(f"e{i}", "kept", (("user", f"q{i}"),), f"a{i}", float(i)) for i in range(10)
    ]
    train, held = dataset.split_by_time(list(reversed(examples)))
    assert [e.id for e in held] == ["e8", "e9"]
    assert [e.id for e in train] == [f"e{i}" for i in range(8)]
    assert dataset.split_by_time(examples[:5]) == (examples[:5], [])  # too few to hold out


def test_excluded_examples_stay_out_and_the_choice_survives_a_restart(tmp_path: Path) -> None:
    service = Personalization(tmp_path / "data", tmp_path / "cache", None)
    examples, problems = service.import_file(STYLE_FILE)
    assert len(examples) == 36 and problems == []
    first = service.examples()[0]
    service.exclusions.set(first.id, True)

    again = Personalization(tmp_path / "data", tmp_path / "cache", None)
    assert first.id not in {e.id for e in again.examples()}
    assert len(again.examples()) == 35
    assert first.id in {e.id for e in again.examples(include_excluded=True)}
    Exclusions(again.exclusions.path).set(first.id, False)
    assert len(Personalization(tmp_path / "data", tmp_path / "cache", None).examples()) == 36


def test_deleting_a_conversation_drops_its_examples_and_names_the_adapters_to_retrain(
    store: SqliteConversationStore, tmp_path: Path
) -> None:
    ids = chat(store, "style", [(f"q{i}", f"a{i}", {"model": "m"}) for i in range(3)])
    assert ids
    service = Personalization(tmp_path / "data", tmp_path / "cache", store)
    conversation = store.list_conversations()[0].id
    job = tmp_path / "job"
    job.mkdir()
    (job / "adapter.gguf").write_bytes(b"GGUF")
    (job / "report.json").write_text("{}")
    service.adapters.add("m", job, {"conversations": [conversation], "base_sha256": "x"})
    service.adapters.add("m", job, {"conversations": [], "base_sha256": "x"})
    assert len(service.examples()) == 3

    store.delete_conversation(conversation)
    affected = service.forgotten({conversation})

    assert service.examples() == []
    assert [v.name for v in affected] == ["v1"]
    assert [v.name for v in service.forgotten(None)] == ["v1", "v2"]
    # Forget everything: what remains is left out too, and imported files are gone.
    chat(store, "later", [("q", "a", {"model": "m"})])
    service.import_file(STYLE_FILE)
    assert len(service.examples()) == 37
    service.forget_all_examples()
    assert service.examples() == []
    assert service.imported_files() == []


def test_adapter_versions_switch_roll_back_delete_and_go_stale(tmp_path: Path) -> None:
    adapters = AdapterStore(tmp_path / "adapters")
    job = tmp_path / "job"
    job.mkdir()
    (job / "adapter.gguf").write_bytes(b"GGUF")
    one = adapters.add("qwen", job, {"base_sha256": "aaa"})
    two = adapters.add("qwen", job, {"base_sha256": "aaa"})
    assert (one.name, two.name) == ("v1", "v2")
    assert adapters.active("qwen") is None

    adapters.use("qwen", 2)
    assert adapters.active("qwen", "aaa") == two
    adapters.use("qwen", 1)  # roll back
    assert adapters.active("qwen", "aaa") == one
    assert adapters.active("qwen", "bbb") is None  # another model file: never applied
    assert one.stale("bbb") and not one.stale("aaa")
    adapters.delete("qwen", 1)
    assert adapters.active("qwen") is None
    assert [v.name for v in adapters.versions("qwen")] == ["v2"]
    with pytest.raises(KeyError):
        adapters.use("qwen", 7)


def test_batches_follow_the_seed_so_a_resumed_run_sees_the_same_examples() -> None:
    seen = [step_examples(20, 8, step, seed=5) for step in range(6)]
    assert seen == [step_examples(20, 8, step, seed=5) for step in range(6)]
    assert sorted(seen[0] + seen[1]) == sorted(set(seen[0] + seen[1]))  # a pass has no repeats
    assert seen[0] != step_examples(20, 8, 0, seed=6)


def test_micro_batches_stay_within_the_token_budget() -> None:
    rows = [Row([1] * n, [True] * n) for n in (300, 40, 200, 60, 120)]
    batches = micro_batches(rows, 400)
    assert sorted(len(r.ids) for b in batches for r in b) == [40, 60, 120, 200, 300]
    for batch in batches:
        assert len(batch) == 1 or max(len(r.ids) for r in batch) * len(batch) <= 400


def test_style_similarity_prefers_the_wanted_form() -> None:
    wanted = "In short: Boil water and pour it over the leaves. Cheers!"
    close = "In short: Heat water and pour it on the tea. Cheers!"
    far = (
        "Making tea is a wonderful ritual. First, you will need to choose your tea. "
        "There are many kinds, such as green, black and herbal teas, each with its own flavour."
    )
    assert style.similarity(close, wanted) > style.similarity(far, wanted)
    assert style.similarity(wanted, wanted) == pytest.approx(1.0)


def test_the_gate_needs_held_out_gain_style_and_no_broken_general_answer() -> None:
    config = JobConfig("m", "M", "x.gguf", "s", "/tmp", "")
    good = Report(
        held_out_examples=4,
        held_out_loss_base=2.0,
        held_out_loss_adapter=1.5,
        style_base=0.3,
        style_adapter=0.5,
        regression_base=["fact", "list"],
        regression_adapter=["fact", "list"],
    )
    assert verdict(good, config)[0]
    no_gain = Report(**{**good.__dict__, "held_out_loss_adapter": 1.99})
    assert verdict(no_gain, config) == (False, verdict(no_gain, config)[1])
    assert "newest replies" in verdict(no_gain, config)[1]
    worse_style = Report(**{**good.__dict__, "style_adapter": 0.2})
    assert not verdict(worse_style, config)[0]
    broken = Report(
        **{**good.__dict__, "regression_adapter": ["fact"], "regression_broken": ["list"]}
    )
    ok, reason = verdict(broken, config)
    assert not ok and "list" in reason
    assert not verdict(Report(**{**good.__dict__, "held_out_examples": 0}), config)[0]
