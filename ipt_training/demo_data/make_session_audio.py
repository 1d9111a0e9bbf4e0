"""Regenerate the synthetic demo session recordings and their WebVTT transcripts.

For maintainers only. The app never imports this module and needs none of its tools at run
time: it serves the ``.ogg`` and ``.vtt`` files that this script wrote and that are committed
beside the dialogues in ``ipt_training/demo_data/sessions/``.

What it does, for each session slug:

1. reads ``sessions/<slug>.dialogue.yaml``: a YAML list of ``{speaker, text}`` entries, where
   ``speaker`` is ``Therapist``, ``Client`` or another speaker given a voice for that slug in
   ``OTHER_VOICES`` (a parent who joins, the members of a group), and ``text`` is the
   caption. An optional ``say`` gives the words to synthesise when they differ from the
   caption (e.g. a stage direction such as "(as Mara)" that should be shown but not read out);
2. synthesises each cue to a WAV file with ``espeak-ng``, a different voice for each speaker,
   and trims the silence espeak-ng leaves around the speech;
3. joins the cues with fixed silences (``LEAD_IN`` before the first, ``GAP`` between cues,
   ``TAIL`` after the last) and computes every cue's start and end from the sample counts,
   so the captions line up with the audio exactly;
4. encodes the result as mono Ogg/Opus at a low speech bitrate with ``ffmpeg``
   (``<slug>.ogg``, about 90 KB per minute) and writes ``<slug>.vtt`` with each cue
   prefixed by its speaker ("Therapist: ...", "Client: ...", "Mother: ...").

Requirements (maintainer machine only): ``espeak-ng`` and ``ffmpeg`` built with libopus on
``PATH`` (Debian: ``apt-get install -y espeak-ng ffmpeg``), and PyYAML.

Usage::

    python ipt_training/demo_data/make_session_audio.py              # every *.dialogue.yaml
    python ipt_training/demo_data/make_session_audio.py SLUG [SLUG]  # just these sessions

After regenerating, check ``sessions.yaml``: its ``duration_seconds`` should match what this
script prints, and its expert ratings must still fit the dialogue if you changed the words.
The output is deterministic for a given espeak-ng and ffmpeg version.
"""

from __future__ import annotations

import argparse
import array
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import yaml

SESSIONS_DIR = Path(__file__).resolve().parent / "sessions"

# espeak-ng voice settings: (voice[+variant], pitch 0-99, words per minute)
THERAPIST_VOICE = ("en-gb+f3", 48, 160)
CLIENT_VOICES = {
    "initial-grief-ruth": ("en-us+f2", 62, 158),
    "middle-dispute-daniel": ("en-us+m3", 40, 165),
    "middle-transition-grace-weak": ("en-us+f4", 58, 155),
    "termination-deficits-tom": ("en-us+m1", 36, 160),
    "middle-transition-priya-nearpass": ("en-gb+f4", 60, 158),
    "initial-wrongfocus-marcus": ("en-us+m2", 34, 150),
    "initial-adolescent-maya": ("en-us+f5", 72, 168),
}
DEFAULT_CLIENT_VOICE = ("en-us+m3", 40, 160)
# speakers other than the therapist and the client, per session
OTHER_VOICES = {
    "initial-adolescent-maya": {"Mother": ("en-gb+f2", 50, 155)},
    "middle-group-ipt": {"Ana": ("en-us+f2", 62, 158), "Ben": ("en-gb+m1", 34, 150),
                         "Carla": ("en-us+f4", 56, 162)},
}

RATE = 22050  # espeak-ng writes 22.05 kHz, mono, 16-bit
LEAD_IN = 0.30  # seconds of silence before the first cue
GAP = 0.55  # seconds of silence between cues
TAIL = 0.25  # seconds of silence after the last cue
TRIM_THRESHOLD = 300  # |sample| below this counts as silence when trimming
TRIM_PAD = 0.03  # seconds of the original silence kept at each end of a cue
OPUS_BITRATE = "12k"
SPEAKERS = ("Therapist", "Client")


def load_dialogue(path: Path, speakers: tuple[str, ...] = SPEAKERS) -> list[dict]:
    data = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(data, list) or not data:
        raise SystemExit(f"{path}: must be a non-empty YAML list of {{speaker, text}}")
    for n, cue in enumerate(data):
        if not isinstance(cue, dict) or cue.get("speaker") not in speakers or not str(cue.get("text", "")).strip():
            raise SystemExit(f"{path}: entry {n} needs speaker (one of {', '.join(speakers)}) and text")
        extra = set(cue) - {"speaker", "text", "say"}
        if extra:
            raise SystemExit(f"{path}: entry {n} has unknown field(s) {sorted(extra)}")
    return data


def synthesise(text: str, voice: tuple[str, int, int], out: Path) -> array.array:
    """Speak ``text`` with espeak-ng and return its trimmed 16-bit samples."""
    name, pitch, speed = voice
    subprocess.run(
        ["espeak-ng", "-v", name, "-p", str(pitch), "-s", str(speed), "-w", str(out), "--", text],
        check=True,
    )
    with wave.open(str(out), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise SystemExit(f"espeak-ng wrote an unexpected format for voice {name}")
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    loud = [i for i, s in enumerate(samples) if abs(s) > TRIM_THRESHOLD]
    if not loud:
        return samples
    pad = int(TRIM_PAD * RATE)
    return samples[max(0, loud[0] - pad) : min(len(samples), loud[-1] + pad + 1)]


def timestamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def caption(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build(slug: str) -> tuple[float, int]:
    """Write ``<slug>.ogg`` and ``<slug>.vtt``; return (duration in s, ogg size in bytes)."""
    source = SESSIONS_DIR / f"{slug}.dialogue.yaml"
    voices = {"Therapist": THERAPIST_VOICE, "Client": CLIENT_VOICES.get(slug, DEFAULT_CLIENT_VOICE),
              **OTHER_VOICES.get(slug, {})}
    cues = load_dialogue(source, tuple(voices))

    audio = array.array("h", bytes(2 * int(LEAD_IN * RATE)))
    timings: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for n, cue in enumerate(cues):
            if n:
                audio.extend(array.array("h", bytes(2 * int(GAP * RATE))))
            speech = synthesise(" ".join(str(cue.get("say") or cue["text"]).split()), voices[cue["speaker"]], tmpdir / f"{n}.wav")
            start = len(audio) / RATE
            audio.extend(speech)
            timings.append((start, len(audio) / RATE))
        audio.extend(array.array("h", bytes(2 * int(TAIL * RATE))))

        joined = tmpdir / "joined.wav"
        out_audio = audio
        if sys.byteorder == "big":
            out_audio = array.array("h", audio)
            out_audio.byteswap()
        with wave.open(str(joined), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(out_audio.tobytes())

        ogg = SESSIONS_DIR / f"{slug}.ogg"
        subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(joined),
                "-ac", "1", "-ar", "24000", "-c:a", "libopus", "-b:a", OPUS_BITRATE,
                "-application", "voip", "-map_metadata", "-1", "-fflags", "+bitexact",
                "-flags:a", "+bitexact", str(ogg),
            ],
            check=True,
        )

    lines = [
        "WEBVTT",
        "",
        "NOTE",
        f"Synthetic role-play written for this project; fictional people. Generated from",
        f"{source.name} by make_session_audio.py with espeak-ng.",
        "",
    ]
    for n, (cue, (start, end)) in enumerate(zip(cues, timings), start=1):
        lines += [str(n), f"{timestamp(start)} --> {timestamp(end)}", f"{cue['speaker']}: {caption(cue['text'])}", ""]
    (SESSIONS_DIR / f"{slug}.vtt").write_text("\n".join(lines), encoding="utf-8")
    return len(audio) / RATE, ogg.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("slugs", nargs="*", help="session slugs (default: every *.dialogue.yaml)")
    args = parser.parse_args(argv)
    for tool in ("espeak-ng", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH; install it (Debian: apt-get install -y espeak-ng ffmpeg)")
    slugs = args.slugs or sorted(p.name[: -len(".dialogue.yaml")] for p in SESSIONS_DIR.glob("*.dialogue.yaml"))
    for slug in slugs:
        duration, size = build(slug)
        print(f"{slug}: {duration:.2f} s, {size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
