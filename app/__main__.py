"""Entry point: ``hearth`` opens the window; ``hearth ask`` and ``hearth doctor`` use the CLI.

The privacy switches are applied by importing :mod:`app` (first line below) and the socket
guard is installed before anything else is imported.
"""

from __future__ import annotations

import app  # noqa: F401  (applies the offline environment before any heavy import)
from app.privacy import install_network_guard

install_network_guard()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from app import __version__  # noqa: E402
from app.launch import PERSONALIZATION_WORKER  # noqa: E402
from app.settings import FAST_MODEL, MODEL_ALIASES, Paths, load_settings  # noqa: E402
from app.terminal import ProgressLine, ctrl_c_cancels, safe  # noqa: E402

if TYPE_CHECKING:
    from app.core.errors import AssistantError
    from app.core.memory import Memory
    from app.core.ports import Attachment, LanguageModel
    from app.filelock import FileLock, LockOwner
    from app.settings import Settings

log = logging.getLogger("hearth")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: a private assistant that runs entirely on this computer.",
    )
    parser.add_argument("--version", action="version", version=f"Hearth {__version__}")
    parser.add_argument("--data-dir", help="folder for conversations, settings and logs")
    parser.add_argument(
        "--background",
        action="store_true",
        help="start in the tray without a window (as at login), ready to ring reminders",
    )
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="ask one question; the answer streams to stdout")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--model", help=f"model id or alias ({', '.join(MODEL_ALIASES)})")
    ask.add_argument("--max-tokens", type=int, default=None)
    ask.add_argument("--stats", action="store_true", help="print timings to stderr")
    ask.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="FILE",
        help="an image to ask about (repeat for several)",
    )
    ask.add_argument(
        "--yes", action="store_true", help="answer yes to a question before cancelling"
    )
    reminders = sub.add_parser("reminders", help="list pending timers and reminders")
    reminders.add_argument("--json", action="store_true", help="as JSON, for scripts")
    notes = sub.add_parser("notes", help="list notes and lists (shopping, to do, ...)")
    notes.add_argument("--json", action="store_true", help="as JSON, for scripts")
    cal = sub.add_parser("calendar", help="list, import or export the calendar")
    cal.add_argument("--json", action="store_true", help="as JSON, for scripts")
    cal.add_argument("--from", dest="start", metavar="DATE", help="first day (default today)")
    cal.add_argument("--to", dest="end", metavar="DATE", help="last day (default 30 days on)")
    cal.add_argument("--import", dest="import_file", metavar="FILE.ics", help="add a file's events")
    cal.add_argument("--export", dest="export_file", metavar="FILE.ics", help="write every event")
    say = sub.add_parser("say", help="speak text into a WAV file")
    say.add_argument("text", nargs="+")
    say.add_argument("-o", "--output", required=True, help="the WAV file to write")
    say.add_argument("--rate", type=float, default=None, help="speaking rate (1.0 normal)")
    say.add_argument("--volume", type=float, default=None)
    transcribe = sub.add_parser("transcribe", help="write what is said in an audio file")
    transcribe.add_argument("file")
    transcribe.add_argument("--model", help="tiny (English, default) or base (multilingual)")
    transcribe.add_argument("--language", help="language code for the multilingual model")
    index = sub.add_parser("index", help="add folders to Hearth's memory (only changes are redone)")
    index.add_argument("folders", nargs="+", metavar="FOLDER")
    index.add_argument("--remove", action="store_true", help="forget these folders instead")
    index.add_argument(
        "--retry", action="store_true", help="read skipped files again even if unchanged"
    )
    recall = sub.add_parser("recall", help="show what Hearth remembers about something")
    recall.add_argument("query", nargs="+")
    recall.add_argument("--limit", type=int, default=5)
    personalize = sub.add_parser(
        "personalize", help="train, list and switch the adapter that learns your style"
    )
    steps = personalize.add_subparsers(dest="action", required=True)
    train = steps.add_parser("train", help="train a new adapter on your chats and edits")
    train.add_argument("--data", metavar="FILE.jsonl", help="also learn from this file of examples")
    train.add_argument("--model", help="model id or alias (default: the chat model)")
    train.add_argument(
        "--max-minutes", type=float, default=0.0, help="stop training after N minutes"
    )
    train.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    status = steps.add_parser("status", help="which adapter is active")
    status.add_argument("--json", action="store_true", help="as JSON, for scripts")
    status.add_argument("--model", help="model id or alias")
    listing = steps.add_parser("list", help="the adapter versions and their test figures")
    listing.add_argument("--model", help="model id or alias")
    use = steps.add_parser("use", help="answer with adapter VERSION (like v2)")
    use.add_argument("version")
    use.add_argument("--model", help="model id or alias")
    off = steps.add_parser("off", help="answer with the base model (no adapter)")
    off.add_argument("--model", help="model id or alias")
    doctor = sub.add_parser("doctor", help="check models, folders and privacy switches")
    doctor.add_argument(
        "--verify", action="store_true", help="(kept for scripts: doctor always re-hashes)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [PERSONALIZATION_WORKER]:  # the training process (see app.launch)
        from app.personalization import worker

        return worker.main(args[1:])
    try:
        return _main(args)
    except KeyboardInterrupt:  # Ctrl+C in any command: a plain word, never a traceback
        print("\nhearth: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hearth calendar | head`: the reader left; nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0


def _main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    paths = Paths.default(_path(args.data_dir))
    from app.logs import setup_logging

    setup_logging(paths.log_dir)
    if args.command == "ask":
        return ask(
            paths,
            " ".join(args.question),
            args.model,
            args.max_tokens,
            args.stats,
            images=[Path(p) for p in args.image],
            yes=args.yes,
        )
    if args.command in ("reminders", "notes", "calendar"):
        from app import cli_tools

        if args.command == "reminders":
            return cli_tools.list_reminders(paths, as_json=args.json)
        if args.command == "notes":
            return cli_tools.list_notes(paths, as_json=args.json)
        return cli_tools.calendar(
            paths,
            as_json=args.json,
            start=args.start,
            end=args.end,
            import_file=args.import_file,
            export_file=args.export_file,
        )
    if args.command == "say":
        return say(paths, " ".join(args.text), Path(args.output), args.rate, args.volume)
    if args.command == "transcribe":
        return transcribe(paths, Path(args.file), args.model, args.language)
    if args.command == "doctor":
        return doctor(paths)
    if args.command == "index":
        from app import cli_memory

        return cli_memory.index(
            paths, [Path(f) for f in args.folders], remove=args.remove, retry=args.retry
        )
    if args.command == "personalize":
        from app import cli_personalize

        if args.action == "train":
            return cli_personalize.train(
                paths,
                data=_path(args.data),
                model=args.model,
                max_minutes=args.max_minutes,
                steps=args.steps,
            )
        if args.action == "status":
            return cli_personalize.status(paths, model=args.model, as_json=args.json)
        if args.action == "list":
            return cli_personalize.list_versions(paths, model=args.model)
        if args.action == "use":
            return cli_personalize.use(paths, args.version, model=args.model)
        return cli_personalize.use(paths, None, model=args.model)
    if args.command == "recall":
        from app import cli_memory

        return cli_memory.recall(paths, " ".join(args.query), args.limit)
    from app.bootstrap import run_gui

    return run_gui(paths, background=args.background)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def ask(
    paths: Paths,
    question: str,
    model: str | None,
    max_tokens: int | None,
    show_stats: bool,
    *,
    images: Sequence[Path] = (),
    yes: bool = False,
) -> int:
    from app.bootstrap import adapter_store, make_language_model
    from app.core.assistant import Assistant
    from app.core.cancel import CancelToken
    from app.core.errors import AssistantError
    from app.core.events import AssistantEvent, EventType
    from app.core.summary import describe_progress
    from app.engines.models import ModelRegistry
    from app.store.history import SqliteConversationStore

    if not question.strip() and not images:
        print('hearth: the question is empty: hearth ask "what is ...?"', file=sys.stderr)
        return 2
    settings = load_settings(paths.settings_file)
    if model:
        settings = settings.replace(model=model).validated()
    if max_tokens:
        settings = settings.replace(max_reply_tokens=max_tokens).validated()
    made: list[LanguageModel] = []

    def chat_model() -> LanguageModel:
        """Loaded only when needed: a template-matched command never loads a model."""
        if not made:
            made.append(
                make_language_model(
                    ModelRegistry(paths.models_cache),
                    settings.model,
                    settings,
                    adapter_store(paths),
                )
            )
        return made[0]

    if not images:
        done = ask_tools(paths, question, yes, chat_model)
        if done is not None:
            return done
    memory, _lock, busy = ask_memory(paths, settings, question)  # held until the process ends
    if busy is not None:
        handled = memory_request_elsewhere(paths, question, busy)
        if handled is not None:
            return handled
        print(
            f"hearth: {busy.describe()} is using this data folder, so this answer does not "
            "use your memory",
            file=sys.stderr,
        )
    try:
        llm = chat_model()
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    try:
        attachments = read_images(images, show_stats, settings)
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    store = SqliteConversationStore(Path(":memory:"))
    config = dataclasses.replace(settings.assistant_config(), remember_turns=False)
    assistant = Assistant(llm, store, config, memory)
    conversation = store.create_conversation("ask")
    cancel = CancelToken()
    outcome: dict[str, object] = {}

    def on_event(event: AssistantEvent) -> None:
        if event.type is EventType.TOKEN:
            sys.stdout.write(safe(str(event.data["text"])))
            sys.stdout.flush()
        elif event.type is EventType.MODEL_LOADING and show_stats:
            print(f"[loading {event.data['model']}]", file=sys.stderr)
        elif event.type is EventType.SUMMARY_PROGRESS:  # a long summary: say where it is
            print(f"[{safe(describe_progress(event.data))}]", file=sys.stderr)
        elif event.type is EventType.ERROR:
            outcome["error"] = event.data["message"]
        elif event.type is EventType.STATS:
            outcome["stats"] = dict(event.data)

    try:
        with ctrl_c_cancels(cancel):
            assistant.turn(conversation.id, question, on_event, cancel, attachments)
    finally:
        llm.close()
    sys.stdout.write("\n")
    if "error" in outcome:
        print(f"hearth: {safe(str(outcome['error']))}", file=sys.stderr)
        return 1
    if show_stats and isinstance(outcome.get("stats"), dict):
        stats = outcome["stats"]
        assert isinstance(stats, dict)
        print(
            f"[{llm.name}: first token {stats['time_to_first_token']:.2f} s, "
            f"{stats['tokens_per_second']:.1f} tok/s, "
            f"{int(stats['prompt_tokens_evaluated'])} prompt tokens evaluated]",
            file=sys.stderr,
        )
    return 130 if cancel.is_cancelled() else 0


def ask_tools(
    paths: Paths, question: str, yes: bool, model: Callable[[], LanguageModel] | None = None
) -> int | None:
    """A timer, reminder, sum or date question done by the tools, without loading a model;
    None when the question is for the model. The alarms are written to the data folder's
    tools.sqlite3, where an open window picks them up within half a second."""
    from app.bootstrap import build_alarms
    from app.core.errors import AssistantError
    from app.core.handlers import Request
    from app.core.tools.setup import tool_handler

    try:
        handler = tool_handler(build_alarms(paths), remember=note_memory(paths), model=model)
        handled = handler.handle(Request("ask", question))
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    if handled is None:
        return None
    if handled.confirm is not None:
        print(safe(handled.reply))
        agreed = yes
        if not yes and sys.stdin.isatty():
            agreed = input("[y/N] ").strip().lower() in ("y", "yes")
        if not agreed:
            print("hearth: nothing changed (add --yes to agree from a script).", file=sys.stderr)
            return 1
        handled = handled.confirm.yes()
    print(safe(handled.reply))
    return 0


def note_memory(paths: Paths) -> Callable[[str], Callable[[], None] | None]:
    """Notes from `hearth ask` go into memory too (recall finds them): opened on the first
    note; when the window holds the data folder, it is asked to keep the note instead."""
    opened: list[tuple[Memory | None, FileLock | None, LockOwner | None]] = []

    def remember(text: str) -> Callable[[], None] | None:
        from app.bootstrap import build_memory, note_remembers
        from app.filelock import FileLock, command_holder

        if not opened:
            settings = load_settings(paths.settings_file)
            lock = FileLock(paths.lock_file)
            if settings.memory_server or lock.acquire(holder=command_holder("ask")):
                opened.append((build_memory(paths, settings), lock, None))
            else:
                opened.append((None, None, lock.owner()))
        memory, _lock, busy = opened[0]
        if memory is not None:
            return note_remembers(memory)(text)
        if busy is not None and busy.is_app:
            from app.ui.single_instance import send_request

            answer = send_request(paths.data_dir, {"request": "remember", "text": text})
            if answer is not None and answer.get("ok"):
                return None
        print(
            "hearth: the note is kept, but not in memory: another Hearth process has it.",
            file=sys.stderr,
        )
        return None

    return remember


def ask_memory(
    paths: Paths, settings: Settings, question: str
) -> tuple[Memory | None, FileLock | None, LockOwner | None]:
    """The user's memory for `hearth ask`: (memory, the lock held for it, None), or (None, None,
    who holds the data folder) when another process has it, or all None without a memory.

    One-off questions recall memories and obey "remember"/"forget", but are not themselves
    kept (they belong to no conversation). A memory request opens the memory even before
    anything was ever remembered, and even with recall switched off, as in the window."""
    from app.bootstrap import build_memory
    from app.core.memory import forget_intent, remember_intent
    from app.filelock import FileLock, LockOwner, command_holder

    request = remember_intent(question) is not None or forget_intent(question) is not None
    exists = settings.memory_server or paths.memory_dir.is_dir()
    if not request and not (settings.memory_enabled and exists):
        return None, None, None
    lock = FileLock(paths.lock_file)
    if not settings.memory_server and not lock.acquire(holder=command_holder("ask")):
        return None, None, lock.owner() or LockOwner(0, "")
    return build_memory(paths, settings), lock, None


def memory_request_elsewhere(paths: Paths, question: str, busy: LockOwner) -> int | None:
    """A "remember"/"forget" request while another process holds the memory: the window is
    asked to keep the fact; otherwise the user hears that nothing was stored. None: the
    question is no memory request (it is answered without memory)."""
    from app.core.memory import forget_intent, remember_intent

    fact = remember_intent(question)
    if fact is not None:
        if busy.is_app:
            from app.ui.single_instance import send_request

            answer = send_request(paths.data_dir, {"request": "remember", "text": fact})
            if answer is not None and answer.get("ok"):
                print(safe(str(answer.get("message", ""))))
                return 0
            why = str(answer.get("message")) if answer else "the Hearth window did not answer"
            print(f"hearth: nothing was remembered: {safe(why)}", file=sys.stderr)
            return 1
        print(
            f"hearth: nothing was remembered: {busy.describe()} is using your memory. "
            "Try again when it has finished.",
            file=sys.stderr,
        )
        return 1
    if forget_intent(question) is not None:
        where = (
            "say it in the Hearth window, which asks before it forgets"
            if busy.is_app
            else "try again when it has finished"
        )
        print(
            f"hearth: nothing was forgotten: {busy.describe()} is using your memory; {where}.",
            file=sys.stderr,
        )
        return 1
    return None


def read_images(
    images: Sequence[Path], verbose: bool, settings: Settings | None = None
) -> list[Attachment]:
    """Intake, OCR and (with an image model) tags for each image: the window's same steps."""
    from app.bootstrap import make_image_embedder
    from app.core.cancel import CancelToken
    from app.core.images import read_attachments
    from app.engines.image_intake import prepare_file
    from app.engines.rapid_ocr import RapidOcr

    if not images:
        return []
    prepared = [prepare_file(path) for path in images]
    embedder = make_image_embedder(settings) if settings is not None else None

    def problem(exc: AssistantError) -> None:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)

    attachments = read_attachments(
        prepared, RapidOcr(), CancelToken(), embedder=embedder, on_problem=problem
    )
    if verbose:
        for image, attachment in zip(prepared, attachments, strict=True):
            lines = len(attachment.text.splitlines())
            tags = (
                f", looks like {', '.join(attachment.looks_like)}" if attachment.looks_like else ""
            )
            print(
                f"[{image.name}: {image.original_width}x{image.original_height} "
                f"{image.original_format}, {lines} row(s) of text{tags}]",
                file=sys.stderr,
            )
    return attachments


def say(paths: Paths, text: str, output: Path, rate: float | None, volume: float | None) -> int:
    from app.audio.wav import write_wav
    from app.bootstrap import make_text_to_speech
    from app.core.cancel import CancelToken
    from app.core.errors import AssistantError
    from app.engines.models import ModelRegistry

    settings = load_settings(paths.settings_file)
    settings = settings.replace(
        speech_rate=rate if rate is not None else settings.speech_rate,
        speech_volume=volume if volume is not None else settings.speech_volume,
    ).validated()
    try:
        tts = make_text_to_speech(ModelRegistry(paths.models_cache), settings.voice)
        clips = list(
            tts.synthesize(
                text, cancel=CancelToken(), rate=settings.speech_rate, volume=settings.speech_volume
            )
        )
        if not clips:
            print("hearth: there is nothing to say in that text.", file=sys.stderr)
            return 1
        write_wav(output, clips)
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    seconds = sum(c.duration for c in clips)
    print(f"{output}: {seconds:.1f} s of speech, {len(clips)} sentence(s)", file=sys.stderr)
    return 0


def transcribe(paths: Paths, file: Path, model: str | None, language: str | None) -> int:
    from app.bootstrap import make_speech_to_text
    from app.core.cancel import CancelToken
    from app.core.errors import AssistantError
    from app.engines.models import ModelRegistry
    from app.engines.whisper_stt import WhisperSpeechToText

    settings = load_settings(paths.settings_file)
    if model:
        settings = settings.replace(stt_model=model).validated()
    if not file.exists() and not file.is_symlink():
        print(f"hearth: {safe(str(file))} does not exist.", file=sys.stderr)
        return 1
    try:
        stt = make_speech_to_text(ModelRegistry(paths.models_cache), settings.stt_model, settings)
        assert isinstance(stt, WhisperSpeechToText)
        if language:
            stt.language = language
        cancel = CancelToken()
        with ProgressLine() as line, ctrl_c_cancels(cancel):

            def progress(done: float, total: float) -> None:
                line.update(
                    f"{safe(file.name)}: {_clock(done)} of {_clock(total)} transcribed",
                    now=time.monotonic(),
                )

            result = stt.transcribe_file(file, cancel=cancel, on_progress=progress)
    except AssistantError as exc:
        print(f"hearth: {safe(exc.message)}", file=sys.stderr)
        return 1
    if cancel.is_cancelled():
        print("hearth: stopped.", file=sys.stderr)
        return 130
    if result.heard_nothing:
        print("hearth: no speech was heard in that file.", file=sys.stderr)
        return 2
    print(safe(result.text))
    return 0


def _clock(seconds: float) -> str:
    """Minutes and seconds, as 4:07."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def doctor(paths: Paths) -> int:
    import os

    from app.engines.models import ModelRegistry
    from app.privacy import GUARD, OFFLINE_ENVIRONMENT

    settings = load_settings(paths.settings_file)
    print("Hearth doctor")
    registry = ModelRegistry(paths.models_cache)
    print(f"  data folder:  {paths.data_dir}")
    if registry.bundled_dir is not None:  # an installed Hearth: every model comes with it
        print(f"  models:       {registry.bundled_dir} (inside this installation)")
    else:
        print(f"  model cache:  {paths.models_cache}")
    print(f"  chat model:   {settings.model}  (fast: {FAST_MODEL})")
    switches = all(os.environ.get(k) == v for k, v in OFFLINE_ENVIRONMENT.items())
    print(
        f"  privacy:      offline switches {'on' if switches else 'OFF'}, network guard "
        f"{'installed' if GUARD.installed else 'NOT installed'}"
    )
    print()
    failures = 0
    statuses = registry.status(verify=True)  # the whole point of asking: hash every file
    for status in statuses:
        spec = status.spec
        mark = "ok  " if status.ok else "FAIL"
        alias = f" [{spec.alias}]" if spec.alias else ""
        print(f"{mark} {spec.id}{alias}  ({spec.kind}, {spec.size / 1e6:,.0f} MB, {spec.licence})")
        print(f"     {spec.title}")
        if status.ok:
            print(f"     {status.path}")
        else:
            failures += 1
            print(f"     {status.message}")
    needed = {settings.model, FAST_MODEL}
    broken = [s for s in statuses if not s.ok and s.spec.id in needed]
    print()
    print("All models are ready." if failures == 0 else f"{failures} model(s) need attention.")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
