"""Speaking the calls: a FIFO of announcements played clip by clip with pygame.mixer.

:func:`announce` turns a call into clip tokens and queues them on a :class:`Voice`. A new call
is said twice, a recall once, as ONE queued item: ``[*sentence, PAUSE, *sentence]`` for a new
call, ``sentence`` for a recall. One item per call means one chime per call, and the two
repetitions of a call can never be separated by another call. :data:`PAUSE` is not a clip: the
player is silent for ``sentence_pause_s`` instead.

:class:`PygameVoice` never blocks the caller: :meth:`PygameVoice.say` only enqueues, and one
player thread plays each announcement in turn (the chime, then each word's clip), so
announcements never overlap and none is dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import wave
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from display_board.clips import ClipLibrary
from display_board.numbers import DEFAULT_READING, Reading, announcement

if TYPE_CHECKING:
    import pygame

__all__ = ["PAUSE", "FakeVoice", "PygameVoice", "RecordingVoice", "Voice", "announce"]

log = logging.getLogger(__name__)

#: A token that is a silence between the two repetitions of a new call, not a clip.
PAUSE = "<pause>"

#: How much longer than a sound's length to wait for the channel before giving up on it.
GUARD_S = 1.0
_POLL_S = 0.005


class Voice(Protocol):
    def say(self, tokens: list[str]) -> None:
        """Queue one announcement (a chime, then the tokens' clips); never blocks."""

    def close(self) -> None:
        """Finish what is queued, then stop."""


class FakeVoice:
    """A voice for tests: records each announcement it is asked to say."""

    def __init__(self) -> None:
        self.said: list[list[str]] = []
        self.closed = False

    def say(self, tokens: list[str]) -> None:
        self.said.append(list(tokens))

    def close(self) -> None:
        self.closed = True


def announce(
    voice: Voice,
    shown: str,
    counter_number: str,
    recall: bool,
    reading: Reading = DEFAULT_READING,
) -> list[str]:
    """Queue the call "Mời công dân có số <shown> đến quầy số <counter_number>" on ``voice``.

    A new call is said twice, as one item ``[*sentence, PAUSE, *sentence]``; a recall once.
    Returns the tokens queued. Raises ValueError (and queues nothing) when ``shown`` or
    ``counter_number`` cannot be read (see :func:`display_board.numbers.read_ticket`).
    """
    sentence = announcement(shown, counter_number, reading)
    tokens = sentence if recall else [*sentence, PAUSE, *sentence]
    voice.say(tokens)
    return tokens


_STOP = object()
CLOSE_WAIT_S = 10.0  # under protocol.agent's 15 s grace, with time left for the rest of the stop


class PygameVoice:
    """Plays queued announcements with pygame.mixer on one player thread, one after the other.

    The mixer is initialised at construction when it is not already (``pygame.error`` when there
    is no audio device), and one channel is reserved for the voice. ``played`` records, per
    announcement, the tokens actually played (a missing clip is left out; :data:`PAUSE` is kept);
    ``idle`` is set when nothing is queued or playing. A clip that is missing or cannot be loaded
    is logged once and skipped; the rest of the announcement still plays.
    """

    def __init__(
        self,
        library: ClipLibrary,
        *,
        pause_s: float = 0.05,
        sentence_pause_s: float = 0.6,
        chime: bool = True,
    ) -> None:
        self.library = library
        self.pause_s = pause_s
        self.sentence_pause_s = sentence_pause_s
        self.chime = chime
        self.played: list[list[str]] = []
        self.idle = threading.Event()
        self.idle.set()
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._warned: set[str] = set()
        self._queue: queue.SimpleQueue[list[str] | object] = queue.SimpleQueue()
        import pygame  # here, so that announce() and FakeVoice need no pygame

        self._owns_mixer = pygame.mixer.get_init() is None
        if self._owns_mixer:
            pygame.mixer.init(frequency=22050, size=-16, channels=1)
        pygame.mixer.set_reserved(1)
        self._channel = pygame.mixer.Channel(0)
        self._thread = threading.Thread(target=self._run, name="voice-player", daemon=True)
        self._thread.start()

    # -- the caller's side --

    def say(self, tokens: list[str]) -> None:
        """Queue one announcement; returns at once."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the voice is closed")
            self._pending += 1
            self.idle.clear()
        self._queue.put(list(tokens))

    def played_snapshot(self) -> list[list[str]]:
        """A copy of :attr:`played`, taken under the lock."""
        with self._lock:
            return [list(item) for item in self.played]

    def close(self, timeout: float = CLOSE_WAIT_S) -> None:
        """Stop the player once the queue is drained (waits at most ``timeout`` seconds: a board asked to stop with
        many calls still to say stops within the agents' 15 s grace, the rest unsaid)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("voice: the player did not finish within %.1f s; what is left is not said", timeout)
            return
        import pygame

        if self._owns_mixer and pygame.mixer.get_init() is not None:
            pygame.mixer.quit()

    # -- the player thread --

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, list)
            played: list[str] = []
            try:
                played = self._play_announcement(item)
            except Exception:
                log.exception("voice: could not play %r", item)
            finally:
                with self._lock:
                    self.played.append(played)
                    self._pending -= 1
                    if self._pending == 0:
                        self.idle.set()

    def _play_announcement(self, tokens: list[str]) -> list[str]:
        # Load every clip first, so the words follow each other evenly (loading overlaps the chime).
        sounds: list[tuple[str, pygame.mixer.Sound | None]] = []
        for token in tokens:
            if token == PAUSE:
                sounds.append((token, None))
                continue
            sound = self._load(token, self.library.path(token))
            if sound is not None:
                sounds.append((token, sound))
        if self.chime:
            chime = self._load("(chime)", self.library.chime())
            if chime is not None:
                self._play(chime)
                time.sleep(self.pause_s)
        played: list[str] = []
        for token, sound in sounds:
            if sound is None:
                time.sleep(self.sentence_pause_s)
            else:
                self._play(sound)
                time.sleep(self.pause_s)
            played.append(token)
        return played

    def _load(self, token: str, path: Path) -> pygame.mixer.Sound | None:
        import pygame

        try:
            return pygame.mixer.Sound(str(path))
        except (pygame.error, OSError) as error:
            if token not in self._warned:
                self._warned.add(token)
                log.warning("voice: no clip for %r (%s): %s; skipped", token, path, error)
            return None

    def _play(self, sound: pygame.mixer.Sound) -> None:
        deadline = time.monotonic() + sound.get_length() + GUARD_S
        self._channel.play(sound)
        while self._channel.get_busy():
            if time.monotonic() > deadline:
                log.warning("voice: the channel is still busy past the sound's length; stopped it")
                self._channel.stop()
                return
            time.sleep(_POLL_S)


class RecordingVoice:
    """A voice that writes what it would say into one WAV file instead of a loudspeaker, and one line
    per announcement (the time, the sentence, the clip files) into a `.txt` beside it: for `make demo`
    and for listening to a center's clips without a hall.

    The clips must share the generated set's format (22,050 Hz, mono, 16 bit); a clip in another
    format is left out with a warning, as a missing one is.
    """

    RATE, WIDTH = 22050, 2

    def __init__(self, library: ClipLibrary, wav: Path, clock: Callable[[], datetime], *, pause_s: float = 0.05,
                 sentence_pause_s: float = 0.6, max_s: float = 0.0) -> None:
        """`max_s`: once the WAV holds this many seconds, announcements are only listed (0: no limit)."""
        self.library, self._clock = library, clock
        self._room = int(max_s * self.RATE * self.WIDTH) if max_s > 0 else None  # bytes left in the WAV
        wav.parent.mkdir(parents=True, exist_ok=True)
        self._wav = wave.open(str(wav), "wb")  # noqa: SIM115  # open for the agent's life; closed by close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(self.WIDTH)
        self._wav.setframerate(self.RATE)
        self._list = wav.with_suffix(".txt").open("w", encoding="utf-8")
        self._pause, self._sentence_pause = self._silence(pause_s), self._silence(sentence_pause_s)
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def _silence(self, seconds: float) -> bytes:
        return b"\0" * (int(seconds * self.RATE) * self.WIDTH)

    def say(self, tokens: list[str]) -> None:
        """Written at once, in the caller's thread: a WAV file takes it faster than a loudspeaker would."""
        with self._lock:
            written, audio = [self.library.chime()], [self._frames("(chime)", self.library.chime()), self._pause]
            for token in tokens:
                if token == PAUSE:
                    audio.append(self._sentence_pause)
                    continue
                path = self.library.path(token)
                frames = self._frames(token, path)
                if frames:
                    written.append(path)
                    audio += [frames, self._pause]
            sound = b"".join(audio)
            recorded = self._room is None or len(sound) <= self._room
            if recorded:
                self._wav.writeframes(sound)
            if self._room is not None:  # once full, full: a later short call must not jump the queue
                self._room = self._room - len(sound) if recorded else 0
            sentence = " ".join("…" if t == PAUSE else t for t in tokens)
            where = "" if recorded else " (listed only: the WAV is full)"
            self._list.write(f"{self._clock():%H:%M:%S}  {sentence}  [{' '.join(p.name for p in written)}]{where}\n")
            self._list.flush()

    def _frames(self, token: str, path: Path) -> bytes:
        try:
            with wave.open(str(path), "rb") as clip:
                if (clip.getframerate(), clip.getnchannels(), clip.getsampwidth()) != (self.RATE, 1, self.WIDTH):
                    raise wave.Error(f"{clip.getframerate()} Hz, {clip.getnchannels()} channel(s)")
                return clip.readframes(clip.getnframes())
        except (wave.Error, OSError, EOFError) as error:
            if token not in self._warned:
                self._warned.add(token)
                log.warning("voice: clip for %r (%s) left out of the recording: %s", token, path, error)
            return b""

    def close(self) -> None:
        with self._lock:
            if self._list.closed:
                return
            self._wav.close()
            self._list.close()
