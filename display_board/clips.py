"""The voice's clip set: one WAV file per spoken word (token), plus the chime.

The installer generates the complete Vietnamese set with espeak-ng (the Debian package
``espeak-ng``)::

    python -m display_board.clips --out /var/lib/qms/voice

A center may record its own voice: a file with the same name (``.wav`` or ``.ogg``) in the
custom folder replaces the generated one, token by token (``--list`` prints which file is which
word). File names are ASCII, so they survive any file system, zip tool or USB stick:

    <slug>-<hash>.wav     e.g. "mười" → "muoi-<8 hex>.wav", "e-lờ" → "e-lo-<8 hex>.wav"

The slug is the token with its diacritics folded ("đ" → "d") for people to read; the hash (the
first 8 hex digits of the SHA-256 of the token's NFC UTF-8 bytes) tells apart tokens that fold
alike ("mười", "mươi", "mồi" all fold to "muoi"). The chime is ``chime.wav``, which no token's
name can be (every token name carries a hash).
"""

from __future__ import annotations

import argparse
import array
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

from display_board.numbers import full_clip_vocabulary
from ui.text import nfc

__all__ = [
    "CHIME_FILENAME",
    "ESPEAK",
    "ClipLibrary",
    "EspeakMissingError",
    "clip_filename",
    "generate",
    "main",
    "write_chime",
]

ESPEAK = "espeak-ng"
CHIME_FILENAME = "chime.wav"
#: Extensions of a center's own recordings, in order of preference.
CUSTOM_EXTENSIONS: tuple[str, ...] = (".wav", ".ogg")

CHIME_RATE = 22050
CHIME_SECONDS = 0.8

#: |sample| at or below this (of 32767, about -50 dBFS) counts as silence when trimming.
SILENCE_THRESHOLD = 100
#: Silence kept at each end of a trimmed clip.
KEEP_SECONDS = 0.03

_HASH_CHARS = 8


class EspeakMissingError(RuntimeError):
    """The espeak-ng program is not installed."""


def _slug(token: str) -> str:
    folded = unicodedata.normalize("NFD", token.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    return slug[:40] or "x"


def clip_filename(token: str) -> str:
    """The file name of ``token``'s clip: ``<ascii slug>-<8 hex of sha256(NFC token)>.wav``.

    >>> clip_filename("mười")[:5], clip_filename("mười") != clip_filename("mươi")
    ('muoi-', True)
    """
    if not token:
        raise ValueError("empty token")
    exact = nfc(token)
    digest = hashlib.sha256(exact.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{_slug(exact)}-{digest}.wav"


# -- the chime -----------------------------------------------------------------------------------


def _chime_samples(rate: int = CHIME_RATE, seconds: float = CHIME_SECONDS) -> array.array[int]:
    """A soft two-tone ding-dong (E5 then C5), each a decaying sine with a little octave."""
    total = int(rate * seconds)
    dong_start = int(rate * 0.3)
    fade_in = int(rate * 0.01)
    fade_out = int(rate * 0.08)
    samples: array.array[int] = array.array("h")
    for i in range(total):
        t = i / rate
        value = _bell(659.25, t) * 0.9
        if i >= dong_start:
            value = value * 0.6 + _bell(523.25, (i - dong_start) / rate)
        envelope = 1.0
        if i < fade_in:
            envelope = i / fade_in
        elif i >= total - fade_out:
            envelope = (total - 1 - i) / fade_out
        samples.append(int(max(-1.0, min(1.0, value * envelope * 0.35)) * 32767))
    return samples


def _bell(freq: float, t: float) -> float:
    decay = math.exp(-t * 5.0)
    return decay * (math.sin(2 * math.pi * freq * t) + 0.25 * math.sin(4 * math.pi * freq * t))


def _write_wav(path: Path, samples: array.array[int], rate: int) -> None:
    """Write 16-bit mono ``samples`` to ``path`` atomically (a temp file, then a rename)."""
    data = samples
    if sys.byteorder == "big":
        data = array.array("h", samples)
        data.byteswap()
    tmp = path.with_name(path.name + ".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())
    os.replace(tmp, path)


def write_chime(path: Path) -> Path:
    """Write the chime (22050 Hz mono 16-bit, 0.8 s) to ``path``."""
    _write_wav(path, _chime_samples(), CHIME_RATE)
    return path


# -- espeak-ng clips -----------------------------------------------------------------------------


def _trim_silence(source: Path, target: Path) -> None:
    """Copy the 16-bit mono WAV ``source`` to ``target`` without its leading/trailing silence.

    Keeps :data:`KEEP_SECONDS` of silence at each end so words concatenate naturally. Anything
    other than 16-bit mono is copied unchanged.
    """
    with wave.open(str(source), "rb") as clip:
        channels, width, rate = clip.getnchannels(), clip.getsampwidth(), clip.getframerate()
        frames = clip.readframes(clip.getnframes())
    if channels != 1 or width != 2:
        shutil.copyfile(source, target)
        return
    samples: array.array[int] = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    loud = [i for i, value in enumerate(samples) if abs(value) > SILENCE_THRESHOLD]
    if not loud:
        raise RuntimeError(f"espeak-ng produced a silent clip: {target.name}")
    keep = int(rate * KEEP_SECONDS)
    start = max(0, loud[0] - keep)
    end = min(len(samples), loud[-1] + 1 + keep)
    _write_wav(target, samples[start:end], rate)


def _speak_to_file(text: str, path: Path, *, voice: str, speed: int, program: str) -> None:
    # "--" so a word can never be taken for an option.
    command = [program, "-v", voice, "-s", str(speed), "-w", str(path), "--", text]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0 or not path.exists():
        detail = (result.stderr or result.stdout).strip()
        raise RuntimeError(f"espeak-ng failed for {text!r} (exit {result.returncode}): {detail}")


def _espeak_missing_message(program: str) -> str:
    return f"{program} not found: install the Debian package espeak-ng (apt-get install espeak-ng)"


def generate(
    out_dir: Path,
    tokens: Iterable[str],
    *,
    voice: str = "vi",
    speed: int = 150,
    espeak: str = ESPEAK,
) -> list[Path]:
    """Generate one WAV per token into ``out_dir`` with espeak-ng, plus ``chime.wav``.

    Files that already exist are kept (running it again makes nothing). Hyphenated letter names
    ("e-lờ") are spoken as their syllables. Each clip's leading and trailing silence is trimmed.
    Returns the files made. Raises :class:`EspeakMissingError` when a clip is to be made and
    ``espeak`` (default ``espeak-ng``) is not installed, before anything is written.
    """
    wanted = sorted({nfc(token) for token in tokens})
    todo = [token for token in wanted if not (out_dir / clip_filename(token)).exists()]
    program = shutil.which(espeak) if todo else None
    if todo and program is None:
        raise EspeakMissingError(_espeak_missing_message(espeak))
    out_dir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    chime = out_dir / CHIME_FILENAME
    if not chime.exists():
        made.append(write_chime(chime))
    for token in todo:
        assert program is not None
        target = out_dir / clip_filename(token)
        raw = target.with_name(target.name + ".raw.tmp")
        try:
            _speak_to_file(token.replace("-", " "), raw, voice=voice, speed=speed, program=program)
            _trim_silence(raw, target)
        finally:
            raw.unlink(missing_ok=True)
        made.append(target)
    return made


# -- the clips a board plays ---------------------------------------------------------------------


class ClipLibrary:
    """Where each token's clip is: the center's own recording when there is one, else the generated one.

    ``generated``: the folder :func:`generate` filled. ``custom``: an optional folder of the
    center's recordings, named like the generated files (``.wav`` or ``.ogg``).
    """

    def __init__(self, generated: Path, custom: Path | None = None) -> None:
        self.generated = Path(generated)
        self.custom = Path(custom) if custom is not None else None

    def _find(self, filename: str) -> Path:
        if self.custom is not None:
            stem = Path(filename).stem
            for extension in CUSTOM_EXTENSIONS:
                candidate = self.custom / (stem + extension)
                if candidate.is_file():
                    return candidate
        return self.generated / filename

    def path(self, token: str) -> Path:
        """The file to play for ``token`` (it may not exist: see :meth:`missing`)."""
        return self._find(clip_filename(token))

    def chime(self) -> Path:
        """The chime played before each announcement (the center's own ``chime.wav``/``.ogg`` first)."""
        return self._find(CHIME_FILENAME)

    def missing(self, tokens: Iterable[str]) -> list[str]:
        """The tokens (each once, in order) that have no clip file."""
        seen: set[str] = set()
        result: list[str] = []
        for token in tokens:
            if token in seen:
                continue
            seen.add(token)
            if not self.path(token).is_file():
                result.append(token)
        return result


# -- command line --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m display_board.clips",
        description="Generate the hall board's Vietnamese voice clips with espeak-ng.",
    )
    parser.add_argument("--out", type=Path, help="folder to write the clips into (existing files are kept)")
    parser.add_argument("--voice", default="vi", help="espeak-ng voice (default: vi)")
    parser.add_argument("--speed", type=int, default=150, help="words per minute (default: 150)")
    parser.add_argument(
        "--list", action="store_true", help="print each clip's file name and word (for recording a center's own voice)"
    )
    args = parser.parse_args(argv)
    if args.list:
        for token in sorted(full_clip_vocabulary()):
            print(f"{clip_filename(token)}\t{token}")
        print(f"{CHIME_FILENAME}\t(chime)")
        if args.out is None:
            return 0
    if args.out is None:
        parser.error("--out is required")
    try:
        made = generate(args.out, full_clip_vocabulary(), voice=args.voice, speed=args.speed)
    except EspeakMissingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"made {len(made)} clip(s) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
