"""A counter terminal's config for tests, benchmarks and `make demo`: the shipped example, pins and all (run
with `devkit.run rating_terminal --scripted`, its pins are pressed by lines on stdin)."""

from __future__ import annotations

from pathlib import Path

from central_server.config_text import replace_table, set_key, toml_string

EXAMPLE = Path(__file__).resolve().parents[1] / "firmware_configs" / "counter.example.toml"


def example_config(counter_id: str, center_id: str, outbox: Path, url: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    for key, value in (("counter", counter_id), ("center", center_id), ("outbox", str(outbox))):
        text = set_key(text, "terminal", key, toml_string(value))
    return replace_table(text, "mqtt", [f"url = {toml_string(url)}"])
