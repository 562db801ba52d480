"""The voice: clip names, the chime, the generated clip set, the clip library and the FIFO player.

The player runs on the dummy audio driver (tests/conftest.py), which plays in real time.
"""

from __future__ import annotations

import array
import math
import shutil
import sys
import time
import unicodedata
import wave
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from display_board.clips import (
    CHIME_FILENAME,
    ClipLibrary,
    EspeakMissingError,
    clip_filename,
    generate,
    main,
    write_chime,
)
from display_board.numbers import Reading, announcement, full_clip_vocabulary
from display_board.voice import CLOSE_WAIT_S, PAUSE, FakeVoice, PygameVoice, RecordingVoice, announce

HAVE_ESPEAK = shutil.which("espeak-ng") is not None
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed (apt-get install espeak-ng)")


def read_wav(path: Path) -> tuple[wave._wave_params, array.array[int]]:
    with wave.open(str(path), "rb") as clip:
        params = clip.getparams()
        samples: array.array[int] = array.array("h", clip.readframes(clip.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return params, samples


def peak(samples: array.array[int]) -> int:
    return max((abs(s) for s in samples), default=0)


def write_tone(path: Path, seconds: float = 0.05, freq: float = 440.0, rate: int = 22050) -> Path:
    samples = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(rate * seconds)))
    )
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


# -- clip names ----------------------------------------------------------------------------------


def test_clip_filenames_are_unique_ascii_and_safe() -> None:
    vocabulary = full_clip_vocabulary()
    names = {clip_filename(token) for token in vocabulary}
    assert len(names) == len(vocabulary)
    assert CHIME_FILENAME not in names
    for name in names:
        assert name.isascii()
        assert name.endswith(".wav")
        assert all(c.isalnum() or c in "-." for c in name), name
        assert name.lower() == name


def test_clip_filename_folds_diacritics_but_keeps_words_apart() -> None:
    assert clip_filename("mười").startswith("muoi-")
    assert clip_filename("mươi").startswith("muoi-")
    assert clip_filename("mười") != clip_filename("mươi")
    assert clip_filename("đến").startswith("den-")
    assert clip_filename("e-lờ").startswith("e-lo-")
    assert clip_filename("muoi") != clip_filename("mười")
    # The same word typed decomposed (NFD) is the same clip.
    assert clip_filename(unicodedata.normalize("NFD", "mười")) == clip_filename("mười")


# -- the chime -----------------------------------------------------------------------------------


def test_chime_is_a_valid_soft_mono_wav(tmp_path: Path) -> None:
    params, samples = read_wav(write_chime(tmp_path / CHIME_FILENAME))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22050)
    assert 0.7 <= params.nframes / params.framerate <= 0.9
    assert 5000 < peak(samples) < 32767  # audible, not clipped
    # Faded in and out: no click at either end.
    assert peak(samples[:20]) < 2000
    assert peak(samples[-20:]) < 500


# -- the clip library ----------------------------------------------------------------------------


def test_library_prefers_the_centers_own_recordings(tmp_path: Path) -> None:
    generated, custom = tmp_path / "generated", tmp_path / "custom"
    generated.mkdir()
    custom.mkdir()
    for token in ("mời", "ba", "bốn"):
        write_tone(generated / clip_filename(token))
    write_tone(generated / CHIME_FILENAME)
    write_tone(custom / clip_filename("mời"))
    (custom / Path(clip_filename("ba")).with_suffix(".ogg").name).write_bytes(b"OggS")
    library = ClipLibrary(generated, custom)

    assert library.path("mời") == custom / clip_filename("mời")
    assert library.path("ba") == custom / Path(clip_filename("ba")).with_suffix(".ogg").name
    assert library.path("bốn") == generated / clip_filename("bốn")
    assert library.chime() == generated / CHIME_FILENAME
    write_tone(custom / CHIME_FILENAME)
    assert library.chime() == custom / CHIME_FILENAME

    assert library.missing(["mời", "năm", "ba", "năm", "sáu"]) == ["năm", "sáu"]
    assert ClipLibrary(generated).path("mời") == generated / clip_filename("mời")
    assert ClipLibrary(tmp_path / "nowhere", custom).path("mời") == custom / clip_filename("mời")


# -- generating with espeak-ng -------------------------------------------------------------------


def test_a_missing_espeak_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EspeakMissingError, match="espeak-ng"):
        generate(tmp_path / "out", ["mời"], espeak="no-such-espeak-ng-binary")
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_command_exits_2_when_espeak_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "espeak-ng" in err


@needs_espeak
def test_generate_makes_trimmed_non_silent_clips_once(tmp_path: Path) -> None:
    tokens = ["mời", "mười", "mươi", "e-lờ", "bốn"]
    made = generate(tmp_path, tokens)
    assert sorted(made) == sorted([tmp_path / clip_filename(t) for t in tokens] + [tmp_path / CHIME_FILENAME])
    for token in tokens:
        params, samples = read_wav(tmp_path / clip_filename(token))
        assert (params.nchannels, params.sampwidth) == (1, 2)
        seconds = params.nframes / params.framerate
        assert 0.1 < seconds < 1.5, (token, seconds)
        assert peak(samples) > 3000, token
        # Trimmed: at most ~30 ms of silence is left at each end.
        keep = int(params.framerate * 0.035)
        assert peak(samples[:keep]) > 100 or peak(samples[: keep * 2]) > 100, token
        assert peak(samples[-keep * 2 :]) > 100, token
    assert not list(tmp_path.glob("*.tmp"))
    # Idempotent: a second run makes nothing and keeps the files.
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert generate(tmp_path, tokens) == []
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    # A new word is the only one made.
    assert generate(tmp_path, [*tokens, "ba"]) == [tmp_path / clip_filename("ba")]


@needs_espeak
def test_the_command_generates_the_full_vocabulary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert f"made {len(full_clip_vocabulary()) + 1} " in capsys.readouterr().out
    assert ClipLibrary(tmp_path).missing(sorted(full_clip_vocabulary())) == []
    assert (tmp_path / CHIME_FILENAME).is_file()
    assert main(["--out", str(tmp_path)]) == 0
    assert "made 0 " in capsys.readouterr().out


# -- the player ----------------------------------------------------------------------------------


@pytest.fixture
def tiny_library(tmp_path: Path) -> ClipLibrary:
    """50 ms tones for a few words and a 50 ms chime: fast to play on the dummy driver."""
    for i, token in enumerate(["mời", "một", "hai", "ba", "bốn", "năm"]):
        write_tone(tmp_path / clip_filename(token), freq=300 + 100 * i)
    write_tone(tmp_path / CHIME_FILENAME, freq=880)
    return ClipLibrary(tmp_path)


@pytest.fixture
def voice(tiny_library: ClipLibrary) -> Iterator[PygameVoice]:
    player = PygameVoice(tiny_library, pause_s=0.01, sentence_pause_s=0.05)
    yield player
    player.close(timeout=10)


def test_the_player_plays_announcements_in_order_without_overlap(voice: PygameVoice) -> None:
    assert voice.idle.is_set()
    announcements = [["mời", "một"], ["mời", "hai", "ba"], ["mời", "bốn", PAUSE, "năm"]]
    started = time.monotonic()
    for tokens in announcements:
        voice.say(tokens)  # returns at once
    assert time.monotonic() - started < 0.05
    assert not voice.idle.is_set()
    assert voice.idle.wait(timeout=10)
    elapsed = time.monotonic() - started
    assert voice.played_snapshot() == announcements
    # One after the other: 3 chimes + 7 word clips of 50 ms each, plus the pauses, at least.
    assert elapsed >= 10 * 0.05 + 0.05


def test_a_missing_clip_is_skipped_and_the_rest_still_plays(
    voice: PygameVoice, caplog: pytest.LogCaptureFixture
) -> None:
    voice.say(["mời", "sáu", "một"])  # no clip for "sáu"
    voice.say(["mời", "sáu", "hai"])
    assert voice.idle.wait(timeout=10)
    assert voice.played_snapshot() == [["mời", "một"], ["mời", "hai"]]
    warnings = [r for r in caplog.records if "sáu" in r.getMessage()]
    assert len(warnings) == 1  # logged once


def test_close_drains_the_queue_first(tiny_library: ClipLibrary) -> None:
    player = PygameVoice(tiny_library, pause_s=0.0)
    player.say(["một"])
    player.say(["hai"])
    player.close(timeout=10)
    assert player.played == [["một"], ["hai"]]
    assert player.idle.is_set()
    with pytest.raises(RuntimeError):
        player.say(["ba"])


# -- announce ------------------------------------------------------------------------------------


def test_a_new_call_is_said_twice_and_a_recall_once() -> None:
    fake = FakeVoice()
    sentence = announcement("1005", "3")
    assert announce(fake, "1005", "3", False) == [*sentence, PAUSE, *sentence]
    assert fake.said == [[*sentence, PAUSE, *sentence]]
    assert " ".join(sentence) == "mời công dân có số một nghìn không trăm linh năm đến quầy số ba"

    fake = FakeVoice()
    announce(fake, "B012", "12", True, Reading(digit_by_digit=True))
    assert [" ".join(tokens) for tokens in fake.said] == ["mời công dân có số bê không một hai đến quầy số mười hai"]


def test_an_unreadable_number_queues_nothing() -> None:
    fake = FakeVoice()
    with pytest.raises(ValueError):
        announce(fake, "1005?", "3", False)
    assert fake.said == []


def test_the_recording_voice_writes_every_announcement_into_one_wav_and_lists_it(tiny_library: ClipLibrary,
                                                                                  tmp_path: Path) -> None:
    out = tmp_path / "rec" / "calls.wav"
    at = datetime(2026, 11, 23, 8, 15, 30)
    recorder = RecordingVoice(tiny_library, out, lambda: at, pause_s=0.01, sentence_pause_s=0.1)
    recorder.say(["mời", "một", PAUSE, "mời", "một"])
    write_tone(tiny_library.path("hai"), rate=16000)  # another format: left out, the rest still written
    recorder.say(["mời", "hai", "ba"])
    recorder.close()
    recorder.close()
    params, samples = read_wav(out)
    assert (params.framerate, params.nchannels, params.sampwidth) == (22050, 1, 2)
    tone = int(0.05 * 22050)
    short, sentence = int(0.01 * 22050), int(0.1 * 22050)
    # chime and 4 clips, each followed by a short pause, and the sentence pause; then chime, mời, ba
    assert params.nframes == 5 * (tone + short) + sentence + 3 * (tone + short)
    assert peak(samples) > 7000
    lines = out.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == (f"08:15:30  mời một … mời một  [chime.wav {clip_filename('mời')} {clip_filename('một')} "
                        f"{clip_filename('mời')} {clip_filename('một')}]")
    assert lines[1].endswith(f"[chime.wav {clip_filename('mời')} {clip_filename('ba')}]")


def test_a_full_recording_only_lists_what_follows(tiny_library: ClipLibrary, tmp_path: Path) -> None:
    out = tmp_path / "calls.wav"
    recorder = RecordingVoice(tiny_library, out, lambda: datetime(2026, 11, 23, 9, 0), pause_s=0.0, max_s=0.25)
    for _ in range(3):
        recorder.say(["mời", "một"])  # 0.15 s each: the chime and two clips
    recorder.close()
    params, _ = read_wav(out)
    assert params.nframes == 3 * int(0.05 * 22050)  # only the first fits in 0.25 s
    lines = out.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and not lines[0].endswith("full)") and lines[1].endswith("(listed only: the WAV is full)")


def test_once_the_recording_is_full_a_shorter_call_does_not_jump_in(tiny_library: ClipLibrary, tmp_path: Path) -> None:
    out = tmp_path / "calls.wav"
    recorder = RecordingVoice(tiny_library, out, lambda: datetime(2026, 11, 23, 9, 0), pause_s=0.0, max_s=0.25)
    recorder.say(["mời", "một"])  # 0.15 s: fits
    recorder.say(["mời", "một", "hai"])  # 0.2 s: does not
    recorder.say(["mời"])  # 0.1 s would fit the 0.1 s left, but it came after one that did not
    recorder.close()
    assert read_wav(out)[0].nframes == 3 * int(0.05 * 22050)


def test_close_gives_up_on_a_long_queue_within_its_wait(tiny_library: ClipLibrary) -> None:
    """A board stopped with minutes of calls still to say stops within the agents' grace: the rest is not said."""
    player = PygameVoice(tiny_library, pause_s=0.0, sentence_pause_s=0.05)
    for _ in range(200):  # ~200 × (chime + 2 words) of 50 ms: over 30 s
        player.say(["mời", "một"])
    started = time.monotonic()
    player.close(timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert len(player.played_snapshot()) < 200
    assert CLOSE_WAIT_S < 15.0  # protocol.agent.stop_on_signals' default grace
