"""The hostile-input run of issue 9, kept: each attack as the user (or an attacker) makes it,
through the real `hearth` command, the real models and stores, with a timeout so a hang fails.

As root (CI runs as root) a chmod does not stop reading; the permission attacks then run the
command without the capability that overrides file permissions (setpriv), as a user would be.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
from app.filelock import FileLock, command_holder

from tests.conftest import hearth_env, require

pytestmark = pytest.mark.model

NO_OVERRIDE = ["-dac_override", "-dac_read_search"]


def as_a_user(args: list[str]) -> list[str]:
    """``args`` run so that file permissions apply (root keeps its uid, loses the override)."""
    if os.geteuid() != 0:
        return args
    caps = ",".join(NO_OVERRIDE)
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--", *args]


def hearth(
    hearth_exe: str, tmp_path: Path, *args: str, timeout: float = 300, user: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [hearth_exe, *args]
    return subprocess.run(
        as_a_user(command) if user else command,
        env=hearth_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_pipes_devices_and_links_out_of_the_folder_neither_hang_nor_leak(
    hearth_exe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    os.mkfifo(folder / "notes.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    secret = tmp_path / "private" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The vault code is 7305-ALPHA.", encoding="utf-8")
    (folder / "innocent.txt").symlink_to(secret)
    (folder / "a.txt").write_text("The bicycle is in the shed.", encoding="utf-8")
    for _ in range(2):  # a rerun once hung at the same file
        done = hearth(hearth_exe, tmp_path, "index", str(folder), timeout=120)
        assert done.returncode == 0, done.stderr
        assert "skipped" in done.stdout and "named pipe" in done.stdout
        assert "zero.txt is a link to /dev/zero, outside the folder" in done.stdout
        assert "innocent.txt is a link to" in done.stdout
    recalled = hearth(hearth_exe, tmp_path, "recall", "what is the vault code?")
    assert "7305" not in recalled.stdout
    assert "bicycle" in hearth(hearth_exe, tmp_path, "recall", "where is the bicycle").stdout


def test_a_permission_error_is_reported_and_retried_once_fixed(
    hearth_exe: str, tmp_path: Path
) -> None:
    require(os.geteuid() != 0 or _setpriv_works(), "setpriv cannot drop the override")
    folder = tmp_path / "f"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "inside.txt").write_text("The attic key is blue.", encoding="utf-8")
    private = folder / "private.txt"
    private.write_text("The boiler service code is 4411.", encoding="utf-8")
    private.chmod(0)
    (folder / "locked").chmod(0)
    try:
        first = hearth(hearth_exe, tmp_path, "index", str(folder), user=True)
        assert first.returncode == 0, first.stderr
        assert "private.txt cannot be read: Permission denied" in first.stdout
        assert f"The folder {folder / 'locked'} cannot be opened (Permission denied)" in (
            first.stdout
        )
        private.chmod(0o644)  # the user fixes it; size and mtime stay as they were
        second = hearth(hearth_exe, tmp_path, "index", str(folder), user=True)
        assert "1 file(s) indexed" in second.stdout, second.stdout
        assert "private.txt" not in second.stdout
    finally:
        (folder / "locked").chmod(0o755)
        private.chmod(0o644)
    assert "4411" in hearth(hearth_exe, tmp_path, "recall", "boiler service code").stdout


def _setpriv_works() -> bool:
    probe = subprocess.run(as_a_user(["true"]), capture_output=True, check=False, timeout=30)
    return probe.returncode == 0


def test_control_characters_from_documents_are_shown_not_obeyed(
    hearth_exe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "evil.md").write_text(
        "The heating schedule starts at six.\x1b]0;pwned\x07\x1b[8m hidden \x1b[0m"
        "\u202eelbisivni\u202c end.",
        encoding="utf-8",
    )
    assert hearth(hearth_exe, tmp_path, "index", str(folder)).returncode == 0
    shown = hearth(hearth_exe, tmp_path, "recall", "heating schedule")
    assert shown.returncode == 0 and "heating schedule" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\u202e" not in shown.stdout
    assert "␛]0;pwned␇" in shown.stdout and "\\u202e" in shown.stdout


def index_db(tmp_path: Path) -> Path:
    return Path(hearth_env(tmp_path)["HEARTH_DATA_DIR"]) / "index.sqlite3"


def stored_done(tmp_path: Path, name: str) -> tuple[str, int, int]:
    """(status, done, chunks) of a file, read as another process would (WAL: never blocks)."""
    if not index_db(tmp_path).is_file():
        return ("", 0, 0)
    with closing(sqlite3.connect(index_db(tmp_path), timeout=30)) as db:
        try:
            row = db.execute(
                "SELECT status, done, chunks FROM files WHERE path LIKE ?", (f"%{name}",)
            ).fetchone()
        except sqlite3.OperationalError:  # created, but its tables not yet written
            return ("", 0, 0)
    return (str(row[0]), int(row[1]), int(row[2])) if row else ("", 0, 0)


def test_a_long_file_killed_mid_index_resumes_without_embedding_its_stored_part_again(
    hearth_exe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    topics = ["garden", "boiler", "river", "harbour", "orchard", "library", "market"]
    paragraphs = [  # about 500 characters each: one passage (chunk) apiece
        f"Paragraph {i} is about the {topics[i % 7]} and what happened there on day {i}. "
        + f"The {topics[(i + 3) % 7]} was quiet that morning and nobody came by until noon. " * 6
        for i in range(400)
    ]
    (folder / "diary.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    (folder / "small.txt").write_text("The spare key is under the mat.", encoding="utf-8")
    run = subprocess.Popen(
        [hearth_exe, "index", str(folder)],
        env=hearth_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        # Past its first slice (256 chunks): by then the small file must have had its turn.
        while stored_done(tmp_path, "diary.txt")[1] < 272 and time.monotonic() < deadline:
            assert run.poll() is None, "hearth index ended before it could be interrupted"
            time.sleep(0.2)
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait(30)
    status, done, chunks = stored_done(tmp_path, "diary.txt")
    assert status == "pending" and 272 <= done < chunks, (status, done, chunks)
    assert stored_done(tmp_path, "small.txt")[0] == "indexed"  # it did not wait for the big one

    resumed = hearth(hearth_exe, tmp_path, "index", str(folder), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({chunks} chunks, {done} of them kept from an interrupted run)" in resumed.stdout, (
        resumed.stdout
    )
    assert stored_done(tmp_path, "diary.txt") == ("indexed", chunks, chunks)
    last = hearth(hearth_exe, tmp_path, "recall", paragraphs[-1])
    assert f"file diary.txt, part {chunks} " in last.stdout, last.stdout  # the very end is in


def test_ctrl_c_mid_index_stops_plainly_and_keeps_what_was_stored(
    hearth_exe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    text = "\n\n".join(f"Paragraph {i} tells of the harbour on day {i}. " * 12 for i in range(300))
    (folder / "log.txt").write_text(text, encoding="utf-8")
    run = subprocess.Popen(
        [hearth_exe, "index", str(folder)],
        env=hearth_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while stored_done(tmp_path, "log.txt")[1] == 0 and time.monotonic() < deadline:
        assert run.poll() is None, "hearth index ended before it could be interrupted"
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, (out, err)
    assert "Traceback" not in err and "run again to continue where it stopped" in err, err
    status, done, chunks = stored_done(tmp_path, "log.txt")
    assert status == "pending" and 0 < done < chunks, (status, done, chunks)


def test_the_lock_message_names_the_command_that_holds_the_data_folder(
    hearth_exe: str, tmp_path: Path
) -> None:
    data = Path(hearth_env(tmp_path)["HEARTH_DATA_DIR"])
    (data / "memory").mkdir(parents=True)
    lock = FileLock(data / "hearth.lock")
    assert lock.acquire(holder=command_holder("ask"))
    try:
        told = hearth(
            hearth_exe, tmp_path, "ask", "--model", "fast", "remember that my car is blue"
        )
        asked = hearth(hearth_exe, tmp_path, "ask", "--model", "fast", "Say hello.")
    finally:
        lock.release()
    pid = os.getpid()
    assert told.returncode == 1
    assert f"nothing was remembered: `hearth ask` (process {pid}) is using your memory" in (
        told.stderr
    )
    assert "my car is blue" not in told.stdout  # never the model's echo of the request
    assert asked.returncode == 0 and asked.stdout.strip()
    assert f"`hearth ask` (process {pid}) is using this data folder" in asked.stderr
    assert "the app is running" not in asked.stderr


def test_an_image_of_20000_by_1_pixels_still_lets_the_question_be_answered(
    hearth_exe: str, tmp_path: Path
) -> None:
    """A valid 20000 x 1 PNG gave "Reading the text in the image failed." and no answer."""
    from PIL import Image

    wide = tmp_path / "wide.png"
    Image.new("RGB", (20000, 1), "white").save(wide)
    asked = hearth(hearth_exe, tmp_path, "ask", "--model", "fast", "--image", str(wide), "Hi?")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() and "failed" not in asked.stderr


def test_recall_shows_nothing_rather_than_hits_of_no_relevance(
    hearth_exe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "garden.md").write_text("The tomatoes grow in the north bed.", encoding="utf-8")
    assert hearth(hearth_exe, tmp_path, "index", str(folder)).returncode == 0
    unrelated = hearth(hearth_exe, tmp_path, "recall", "quantum chromodynamics lattice")
    assert unrelated.returncode == 0
    assert unrelated.stdout.strip() == "Nothing in Hearth's memory is about that."
    related = hearth(hearth_exe, tmp_path, "recall", "where do the tomatoes grow?")
    assert related.stdout.startswith("[1] file garden.md"), related.stdout


def test_a_blank_question_and_a_broken_audio_file_get_plain_words(
    hearth_exe: str, tmp_path: Path
) -> None:
    blank = hearth(hearth_exe, tmp_path, "ask", "   ")
    assert blank.returncode == 2 and "the question is empty" in blank.stderr
    noise = tmp_path / "noise.wav"
    noise.write_bytes(b"RIFF\x00\x00\x00\x00WAVEthis is not audio at all" * 10)
    broken = hearth(hearth_exe, tmp_path, "transcribe", str(noise))
    assert broken.returncode == 1
    assert "noise.wav is not audio Hearth can read" in broken.stderr
    assert "Errno" not in broken.stderr and "Traceback" not in broken.stderr
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    piped = hearth(hearth_exe, tmp_path, "transcribe", str(fifo), timeout=60)
    assert piped.returncode == 1 and "named pipe" in piped.stderr


@pytest.mark.timeout(600)
def test_a_long_file_is_transcribed_with_progress_and_ctrl_c_stops_it_plainly(
    hearth_exe: str, tmp_path: Path
) -> None:
    speech = tmp_path / "long.wav"
    text = "This is a long recording that is being written down word by word. " * 20
    made = hearth(hearth_exe, tmp_path, "say", text, "-o", str(speech))
    assert made.returncode == 0, made.stderr
    run = subprocess.Popen(
        [hearth_exe, "transcribe", str(speech)],
        env=hearth_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert run.stderr is not None
    first = run.stderr.readline()  # the first progress line: well inside the transcription
    assert "long.wav: 0:" in first and "transcribed" in first, first
    run.send_signal(signal.SIGINT)
    _out, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "hearth: stopped." in err
    whole = hearth(hearth_exe, tmp_path, "transcribe", str(speech))
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.lower().count("long recording") >= 18, whole.stdout


def test_remember_from_the_command_line_while_the_window_is_open_is_kept(
    hearth_exe: str, tmp_path: Path
) -> None:
    """With the window open, `hearth ask "remember that my car is blue"` once answered with
    the model's "Remember that my car is blue." and stored nothing. The window keeps it now."""
    from app.ui.single_instance import server_name
    from PySide6.QtNetwork import QLocalSocket

    env = hearth_env(tmp_path)  # offscreen
    window = subprocess.Popen(
        [hearth_exe], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        name = server_name(Path(env["HEARTH_DATA_DIR"]))
        deadline = time.monotonic() + 120
        while True:
            probe = QLocalSocket()
            probe.connectToServer(name)
            if probe.waitForConnected(500):
                probe.disconnectFromServer()
                break
            assert window.poll() is None, window.communicate()[0]
            assert time.monotonic() < deadline, "the window never listened"
            time.sleep(0.5)
        told = hearth(hearth_exe, tmp_path, "ask", "remember that my car is blue")
        assert told.returncode == 0, told.stderr
        assert told.stdout.strip() == "Got it. I'll remember: my car is blue"
    finally:
        window.send_signal(signal.SIGTERM)
        output = window.communicate(timeout=120)[0]
    assert window.returncode == 0, output
    recalled = hearth(hearth_exe, tmp_path, "recall", "what colour is my car?")
    assert "my car is blue" in recalled.stdout, recalled.stdout


def test_a_model_damaged_in_place_with_its_times_restored_is_never_used(
    hearth_exe: str, tmp_path: Path
) -> None:
    """One byte flipped in the middle of the assembled GGUF, its mtime put back: doctor said ok
    and `hearth ask` answered from the damaged file. Now it is hashed beside every load."""
    from app.engines.models import ModelRegistry
    from app.settings import DEFAULT_MODEL, Paths

    from tests.engines.test_registry import flip_keeping_times

    env = dict(hearth_env(tmp_path), HEARTH_CACHE_DIR=str(tmp_path / "cache"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [hearth_exe, *args], env=env, capture_output=True, text=True, timeout=600, check=False
        )

    assert run("doctor").returncode == 0  # assembles Hearth's own copies into this cache
    models = Paths(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache").models_cache
    [gguf] = (models / DEFAULT_MODEL).glob("*.gguf")
    flip_keeping_times(gguf)  # the ctime moved: finding the model hashes it, and rebuilds it
    healed = run("ask", "Say hello.")
    assert healed.returncode == 0 and healed.stdout.strip(), healed.stderr
    assert "is damaged; assembling again" in healed.stderr

    flip_keeping_times(gguf)  # and now as bit rot would: nothing on disk says it changed
    registry = ModelRegistry(models)
    registry._remember(gguf, registry.spec(DEFAULT_MODEL).files[0].sha256)
    refused = run("ask", "Say hello.")
    assert refused.returncode == 1 and refused.stdout.strip() == "", refused.stdout
    assert "was damaged, so it was not used" in refused.stderr, refused.stderr
    answered = run("ask", "Say hello.")  # built again from the packages
    assert answered.returncode == 0 and answered.stdout.strip(), answered.stderr

    flip_keeping_times(gguf)
    checked = run("doctor")
    assert "damaged" in checked.stderr and "All models are ready." in checked.stdout
