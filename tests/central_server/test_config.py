"""The center config (CONTRACT.md §2, STYLE.md §2.7): every single mistake is one line naming file and key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import unicodedata
from datetime import time, timedelta
from pathlib import Path

import pytest

from central_server import config as center_config
from central_server.config import BROKER_TUNING, CenterConfig, config_message, config_payload_limit, load
from central_server.domain.areas import Area
from central_server.domain.policies import PriorityMode
from central_server.storage.url import SqliteFile
from protocol.config import load_mqtt, read_toml
from protocol.errors import BadMessage, ConfigError
from protocol.messages import MAX_PAYLOAD, CenterConfigMessage
from rating_terminal.config import load as load_terminal
from tests.harness import CENTER_TOML

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "firmware_configs" / "center.example.toml"

# tests/harness.py's center config; "sqlite://" + an absolute path is the three-slash form of CONTRACT.md §2.
VALID = CENTER_TOML.format(center_id="thu-nghiem", url="mqtt://127.0.0.1:1883", db="@DB@", day_starts="00:00",
                           window_s=120).replace("sqlite:///@DB@", "sqlite://@DB@")


def valid_text(folder: Path) -> str:
    return VALID.replace("@DB@", str(folder / "center.db"))


def edit(text: str, old: str, new: str) -> str:
    """Replace `old`, which must occur exactly once, so a test never checks an unchanged file."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def write(folder: Path, text: str, name: str = "center.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    """The ConfigError message of loading `path`; it must be exactly one line."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert message
    assert "\n" not in message and "\r" not in message, message
    assert message == message.strip()
    return message


@pytest.fixture
def valid(tmp_path: Path) -> str:
    return valid_text(tmp_path)


# --- the valid file -----------------------------------------------------------------------------


def test_the_valid_config_loads_into_frozen_dataclasses(tmp_path: Path, valid: str) -> None:
    config = load(write(tmp_path, valid))
    assert isinstance(config, CenterConfig)
    assert config.center_id == "thu-nghiem"
    assert config.name == "Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm"
    assert config.timezone == "Asia/Ho_Chi_Minh"
    assert config.day_starts == time(0, 0)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("127.0.0.1", 1883, False)
    assert config.mqtt.password is None
    assert config.storage == SqliteFile(f"sqlite://{tmp_path / 'center.db'}", tmp_path / "center.db")
    assert config.rules.rating_levels == ("very_satisfied", "satisfied", "dissatisfied")
    assert config.rules.rating_window == timedelta(seconds=120)
    assert config.rules.policy.mode is PriorityMode.STRICT
    assert config.rules.policy.max_calls == 3
    assert config.rules.areas[1] == Area("tu-phap", "Tư pháp – Hộ tịch", 1, 999, "B", True)
    assert config.rules.areas[3].open is False
    assert [c.id for c in config.rules.counters] == ["1", "2", "3"]
    assert config.rules.counters[1].areas == ("tu-phap", "dat-dai")
    assert config.warnings == ()
    with pytest.raises(AttributeError):
        config.center_id = "other"  # type: ignore[misc]


def test_optional_keys_take_their_defaults(tmp_path: Path, valid: str) -> None:
    text = edit(valid, 'timezone = "Asia/Ho_Chi_Minh"\nday_starts = "00:00"\n', "")
    text = edit(text, "window_s = 120\n", "")
    text = edit(text, "[queue]\nmax_calls = 3\n", "")
    config = load(write(tmp_path, text))
    assert config.timezone == "Asia/Ho_Chi_Minh"
    assert config.day_starts == time(0, 0)
    assert config.rules.rating_window == timedelta(seconds=120)
    assert config.rules.policy.mode is PriorityMode.STRICT


def test_without_a_citizen_web_the_config_message_keeps_its_bytes(tmp_path: Path, valid: str) -> None:
    config = load(write(tmp_path, valid))
    assert config.citizen_web is None and config.webs == ()
    assert config.rules.phone_window == timedelta(seconds=1800)
    body = json.loads(config_message(config).to_wire())
    assert "public_url" not in body and "rating_phone_window_s" not in body


def test_the_citizen_web_table_gives_its_url_ids_and_the_phone_window(tmp_path: Path, valid: str) -> None:
    text = edit(valid, "window_s = 120", "window_s = 120\nphone_window_s = 3600")
    text = edit(text, "[queue]\n", '[citizen_web]\nurl = "https://hang-doi.rach-gia.gov.vn/"\n\n[queue]\n')
    config = load(write(tmp_path, text))
    assert config.citizen_web is not None and config.citizen_web.url == "https://hang-doi.rach-gia.gov.vn"
    assert [w.id for w in config.webs] == ["web-1"]  # the default when the table is there
    assert config.rules.phone_window == timedelta(seconds=3600)
    body = json.loads(config_message(config).to_wire())
    assert (body["public_url"], body["rating_phone_window_s"]) == ("https://hang-doi.rach-gia.gov.vn", 3600)
    assert CenterConfigMessage.from_wire(config_message(config).to_wire()) == config_message(config)
    assert "citizen web web-1: tickets' QR codes open https://hang-doi.rach-gia.gov.vn/phieu/..." in config.summary()
    two = load(write(tmp_path, edit(text, 'gov.vn/"', 'gov.vn/"\nids = ["web-1", "web-2"]')))
    assert [w.id for w in two.webs] == ["web-1", "web-2"]


def test_the_phone_window_is_at_least_the_buttons_window_by_default(tmp_path: Path, valid: str) -> None:
    config = load(write(tmp_path, edit(valid, "window_s = 120", "window_s = 3600")))
    assert config.rules.phone_window == timedelta(seconds=3600)


def test_day_starts_is_read_as_local_time(tmp_path: Path, valid: str) -> None:
    assert load(write(tmp_path, edit(valid, '"00:00"', '"23:59"'))).day_starts == time(23, 59)
    assert load(write(tmp_path, edit(valid, '"00:00"', '"04:30"'))).day_starts == time(4, 30)


def test_the_four_slash_sqlite_url_names_the_same_file(tmp_path: Path, valid: str) -> None:
    db = tmp_path / "center.db"
    db.touch()
    three = load(write(tmp_path, valid)).storage
    four = load(write(tmp_path, edit(valid, f'"sqlite://{db}"', f'"sqlite:///{db}"'))).storage
    assert isinstance(three, SqliteFile) and isinstance(four, SqliteFile)
    assert three.path == four.path == db, "one leading slash: a path, never a URI authority"


def test_extra_priority_categories_are_added_to_the_built_in_ones(tmp_path: Path, valid: str) -> None:
    text = edit(valid, "max_calls = 3\n", 'max_calls = 3\nextra_priority_categories = ["dan-toc"]\n'
                                          'priority_mode = "interleaved"\nregular_per_priority = 2\n')
    policy = load(write(tmp_path, text)).rules.policy
    assert policy.priority_categories == ("elderly", "disabled", "pregnant", "veteran", "child_under_6", "dan-toc")
    assert policy.mode is PriorityMode.INTERLEAVED
    assert policy.regular_per_priority == 2


# --- reading the file ---------------------------------------------------------------------------


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    message = config_error(tmp_path / "nowhere.toml")
    assert "nowhere.toml" in message


def test_a_folder_instead_of_a_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "center.toml"
    folder.mkdir()
    assert "center.toml" in config_error(folder)


def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path, valid: str) -> None:
    text = edit(valid, "window_s = 120", "window_s = ")
    line = text.splitlines().index("window_s = ") + 1
    message = config_error(write(tmp_path, text))
    assert message.startswith("center.toml: ")
    assert f"line {line}," in message
    assert "column 12" in message


def test_a_duplicated_toml_key_is_a_syntax_error(tmp_path: Path, valid: str) -> None:
    text = edit(valid, "window_s = 120", "window_s = 120\nwindow_s = 60")
    line = text.splitlines().index("window_s = 60") + 1
    message = config_error(write(tmp_path, text))
    assert message.startswith("center.toml: ")
    assert f"line {line}," in message


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path, valid: str) -> None:
    path = tmp_path / "center.toml"
    path.write_bytes(valid.replace("Đất đai", "Dat dai").encode().replace(b"Dat dai", b"\xd0\xff"))
    assert "center.toml" in config_error(path)


# --- single mistakes ----------------------------------------------------------------------------

CENTER = "[center]\n"
HOURS = '[hours]\nweekdays = ["07:30-11:30"]\n\n'
MISTAKES: list[tuple[str, str, str, str, str]] = [
    # (test id, old text, new text, the key named, another fragment the message must carry)
    ("center-missing", CENTER, "[somewhere]\n", "center", "missing"),
    ("center-misspelt", CENTER, "[centre]\n", "centre", "unknown key (did you mean [center]?)"),
    ("center-id-missing", 'id = "thu-nghiem"\n', "", "[center].id", "missing"),
    ("center-id-uppercase", 'id = "thu-nghiem"', 'id = "Thu-Nghiem"', "[center].id", "'Thu-Nghiem'"),
    ("center-id-space", 'id = "thu-nghiem"', 'id = "thu nghiem"', "[center].id", "[a-z0-9-]+"),
    ("center-id-slash", 'id = "thu-nghiem"', 'id = "thu/nghiem"', "[center].id", "thu/nghiem"),
    ("center-id-diacritics", 'id = "thu-nghiem"', 'id = "thử-nghiệm"', "[center].id", "thử-nghiệm"),
    ("center-id-empty", 'id = "thu-nghiem"', 'id = ""', "[center].id", ""),
    ("center-id-number", 'id = "thu-nghiem"', "id = 7", "[center].id", "string"),
    ("center-name-blank", 'name = "Bộ phận', 'name = "   "\nx_name = "', "[center].name", "empty"),
    ("timezone-unknown", '"Asia/Ho_Chi_Minh"', '"Asia/Nowhere"', "[center].timezone", "Asia/Nowhere"),
    ("timezone-lowercase", '"Asia/Ho_Chi_Minh"', '"asia/ho_chi_minh"', "[center].timezone", "asia/ho_chi_minh"),
    ("timezone-path", '"Asia/Ho_Chi_Minh"', '"../etc/passwd"', "[center].timezone", "../etc/passwd"),
    ("timezone-not-a-zone-file", '"Asia/Ho_Chi_Minh"', '"zone.tab"', "[center].timezone", "zone.tab"),
    ("timezone-offset-number", '"Asia/Ho_Chi_Minh"', "7", "[center].timezone", "string"),
    ("day-starts-one-digit-hour", '"00:00"', '"7:30"', "[center].day_starts", "7:30"),
    ("day-starts-24", '"00:00"', '"24:00"', "[center].day_starts", "24:00"),
    ("day-starts-60-minutes", '"00:00"', '"12:60"', "[center].day_starts", "12:60"),
    ("day-starts-seconds", '"00:00"', '"07:30:00"', "[center].day_starts", "07:30:00"),
    ("day-starts-empty", '"00:00"', '""', "[center].day_starts", ""),
    ("day-starts-toml-time", '"00:00"', "07:30:00", "[center].day_starts", "string"),
    ("center-unknown-key", CENTER, CENTER + "language = \"vi\"\n", "[center].language", "unknown key"),
    ("mqtt-missing", '[mqtt]\nurl = "mqtt://127.0.0.1:1883"\n', "", "mqtt", "missing"),
    ("mqtt-url-missing", 'url = "mqtt://127.0.0.1:1883"\n', "", "[mqtt].url", "missing"),
    ("mqtt-url-http", '"mqtt://127.0.0.1:1883"', '"http://127.0.0.1:1883"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-tcp", '"mqtt://127.0.0.1:1883"', '"tcp://127.0.0.1:1883"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-no-scheme", '"mqtt://127.0.0.1:1883"', '"127.0.0.1:1883"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-no-host", '"mqtt://127.0.0.1:1883"', '"mqtt://"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-port-only", '"mqtt://127.0.0.1:1883"', '"mqtt://:1883"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-port-too-big", '"mqtt://127.0.0.1:1883"', '"mqtt://127.0.0.1:70000"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-port-65536", '"mqtt://127.0.0.1:1883"', '"mqtt://127.0.0.1:65536"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-port-negative", '"mqtt://127.0.0.1:1883"', '"mqtt://127.0.0.1:-1"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-port-zero", '"mqtt://127.0.0.1:1883"', '"mqtt://127.0.0.1:0"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-port-text", '"mqtt://127.0.0.1:1883"', '"mqtt://127.0.0.1:abc"', "[mqtt].url", "mqtt://"),
    ("mqtt-url-path", '"mqtt://127.0.0.1:1883"', '"mqtt://127.0.0.1:1883/qms"', "[mqtt].url", "mqtt://"),
    ("mqtt-keepalive-small", 'url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://127.0.0.1:1883"\nkeepalive_s = 1',
     "[mqtt].keepalive_s", "at least 5"),
    ("mqtt-client-id-space", 'url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://127.0.0.1:1883"\nclient_id = "a b"',
     "[mqtt].client_id", "'a b'"),
    ("mqtt-password-number", 'url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://127.0.0.1:1883"\npassword = 1234',
     "[mqtt].password", "string"),
    ("mqtt-unknown-key", 'url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://127.0.0.1:1883"\npasword = "x"',
     "[mqtt].pasword", "unknown key (did you mean 'password'?)"),
    ("storage-missing", "[storage]\nurl = ", "[elsewhere]\nurl = ", "storage", "missing"),
    ("storage-url-mysql", '"sqlite://@DB@"', '"mysql://@DB@"', "[storage].url", "sqlite:///"),
    ("storage-url-relative", '"sqlite://@DB@"', '"sqlite://relative/center.db"', "[storage].url", "sqlite:///"),
    ("storage-url-plain-path", '"sqlite://@DB@"', '"@DB@"', "[storage].url", "sqlite:///"),
    ("storage-url-number", '"sqlite://@DB@"', "5", "[storage].url", "string"),
    ("storage-url-no-path", '"sqlite://@DB@"', '"sqlite:///"', "[storage].url", "sqlite:///"),
    ("storage-url-postgresql-no-host", '"sqlite://@DB@"', '"postgresql:///center"', "[storage].url",
     "postgresql://USER"),
    ("storage-url-other-database", '"sqlite://@DB@"', '"mysql://qms@db.local/center"', "[storage].url",
     "postgresql://"),
    ("storage-unknown-key", '"sqlite://@DB@"', '"sqlite://@DB@"\npool = 4', "[storage].pool", "unknown key"),
    ("rating-missing", '[rating]\nlevels = ["very_satisfied", "satisfied", "dissatisfied"]\nwindow_s = 120\n', "",
     "rating", "missing"),
    ("rating-one-level", '["very_satisfied", "satisfied", "dissatisfied"]', '["satisfied"]', "[rating].levels",
     "2 to 5"),
    ("rating-no-levels", '["very_satisfied", "satisfied", "dissatisfied"]', "[]", "[rating].levels", "2 to 5"),
    ("rating-six-levels", '["very_satisfied", "satisfied", "dissatisfied"]', '["a", "b", "c", "d", "e", "f"]',
     "[rating].levels", "2 to 5"),
    ("rating-duplicate-level", '["very_satisfied", "satisfied", "dissatisfied"]',
     '["satisfied", "dissatisfied", "satisfied"]', "[rating].levels", "twice"),
    ("rating-level-not-an-id", '["very_satisfied", "satisfied", "dissatisfied"]', '["Hài lòng", "Không"]',
     "[rating].levels", "Hài lòng"),
    ("rating-level-number", '["very_satisfied", "satisfied", "dissatisfied"]', '["good", 2]', "[rating].levels",
     "2"),
    ("rating-window-zero", "window_s = 120", "window_s = 0", "[rating].window_s", "at least 1"),
    ("rating-window-negative", "window_s = 120", "window_s = -5", "[rating].window_s", "-5"),
    ("rating-window-float", "window_s = 120", "window_s = 1.5", "[rating].window_s", "integer"),
    ("rating-window-text", "window_s = 120", 'window_s = "120"', "[rating].window_s", "integer"),
    ("rating-window-bool", "window_s = 120", "window_s = true", "[rating].window_s", "integer"),
    ("rating-unknown-key", "window_s = 120", "window_s = 120\nwindow = 60", "[rating].window", "unknown key"),
    ("rating-dissatisfied-unknown", "window_s = 120", 'window_s = 120\ndissatisfied = ["bad"]',
     "[rating].dissatisfied", "some of the levels"),
    ("rating-dissatisfied-best", "window_s = 120", 'window_s = 120\ndissatisfied = ["very_satisfied"]',
     "[rating].dissatisfied", "but the best"),
    ("rating-dissatisfied-empty", "window_s = 120", "window_s = 120\ndissatisfied = []", "[rating].dissatisfied",
     "some of the levels"),
    ("rating-dissatisfied-not-the-worst", '["very_satisfied", "satisfied", "dissatisfied"]',
     '["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]\ndissatisfied = ["dissatisfied"]',
     "[rating].dissatisfied", "the worst 1 of the levels (very_dissatisfied)"),
    ("rating-criteria-unknown", "window_s = 120", 'window_s = 120\ncriteria = ["speed"]', "[rating].criteria",
     "'speed' is none of attitude, guidance, time"),
    ("rating-criteria-twice", "window_s = 120", 'window_s = 120\ncriteria = ["time", "time"]', "[rating].criteria",
     "twice"),
    ("dossiers-pattern-bad", CENTER, '[dossiers]\npattern = "(000"\n\n' + CENTER, "[dossiers].pattern",
     "not a regular expression"),
    ("dossiers-pattern-empty", CENTER, '[dossiers]\npattern = ""\n\n' + CENTER, "[dossiers].pattern",
     "must not be empty"),
    ("dossiers-pattern-long", CENTER, f'[dossiers]\npattern = "{"a" * 201}"\n\n' + CENTER, "[dossiers].pattern",
     "1 to 200"),
    ("dossiers-no-check", CENTER, "[dossiers]\nnational = false\n\n" + CENTER, "[dossiers].pattern",
     "national = false"),
    ("dossiers-per-ticket-zero", CENTER, "[dossiers]\nper_ticket = 0\n\n" + CENTER, "[dossiers].per_ticket",
     "at least 1"),
    ("dossiers-per-ticket-huge", CENTER, "[dossiers]\nper_ticket = 500\n\n" + CENTER, "[dossiers].per_ticket",
     "at most 50"),
    ("dossiers-unknown-key", CENTER, "[dossiers]\nformat = 1\n\n" + CENTER, "[dossiers].format", "unknown key"),
    ("queue-mode-unknown", "max_calls = 3", 'max_calls = 3\npriority_mode = "random"', "[queue].priority_mode",
     "random"),
    ("queue-extra-elderly", "max_calls = 3", 'max_calls = 3\nextra_priority_categories = ["dan-toc", "elderly"]',
     "[queue].extra_priority_categories", "elderly"),
    ("queue-extra-none", "max_calls = 3", 'max_calls = 3\nextra_priority_categories = ["none"]',
     "[queue].extra_priority_categories", "none"),
    ("queue-extra-duplicate", "max_calls = 3", 'max_calls = 3\nextra_priority_categories = ["a", "a"]',
     "[queue].extra_priority_categories", "twice"),
    ("queue-max-calls-negative", "max_calls = 3", "max_calls = -1", "[queue].max_calls", "at least 0"),
    ("queue-unknown-key", "max_calls = 3", "max_calls = 3\nmax_recalls = 2", "[queue].max_recalls", "unknown key"),
    ("area-last-below-first", "first = 1\nlast = 999\nprefix = \"B\"", "first = 5\nlast = 4\nprefix = \"B\"",
     "[[areas]] #2.last", "must not be below first (5)"),
    ("area-id-duplicated", 'id = "nho"', 'id = "tu-phap"', "areas", "'tu-phap'"),
    ("area-id-uppercase", 'id = "nho"', 'id = "Nho"', "[[areas]] #3.id", "'Nho'"),
    ("area-id-missing", 'id = "nho"\n', "", "[[areas]] #3.id", "missing"),
    ("area-prefix-lowercase", 'prefix = "B"', 'prefix = "b"', "[[areas]] #2.prefix", "'b'"),
    ("area-prefix-too-long", 'prefix = "B"', 'prefix = "BCDE"', "[[areas]] #2.prefix", "'BCDE'"),
    ("area-prefix-digit", 'prefix = "B"', 'prefix = "B1"', "[[areas]] #2.prefix", "'B1'"),
    ("area-first-negative", "first = 1001", "first = -1", "[[areas]] #1.first", "at least 0"),
    ("area-first-text", "first = 1001", 'first = "1001"', "[[areas]] #1.first", "integer"),
    ("area-first-bool", "first = 1001", "first = true", "[[areas]] #1.first", "integer"),
    ("area-first-missing", "first = 1001\n", "", "[[areas]] #1.first", "missing"),
    ("area-first-typo", "first = 1001\n", "frist = 1001\n", "[[areas]] #1.frist",
     "unknown key (did you mean 'first'?)"),
    ("area-unknown-key", "first = 1001\n", "first = 1001\nfrist = 1\n", "[[areas]] #1.frist", "unknown key"),
    ("area-open-text", "open = false", 'open = "no"', "[[areas]] #4.open", "true or false"),
    ("area-name-missing", 'name = "Đất đai"\n', "", "[[areas]] #1.name", "missing"),
    ("counter-no-areas", 'areas = ["dat-dai"]', "areas = []", "[[counters]] #1.areas", "at least one"),
    ("counter-unknown-area", 'areas = ["dat-dai"]', 'areas = ["dat-dia"]', "[[counters]] #1.areas", "'dat-dia'"),
    ("counter-area-twice", 'areas = ["dat-dai"]', 'areas = ["dat-dai", "dat-dai"]', "[[counters]] #1.areas",
     "twice"),
    ("counter-areas-text", 'areas = ["dat-dai"]', 'areas = "dat-dai"', "[[counters]] #1.areas", "list"),
    ("counter-areas-missing", 'areas = ["dat-dai"]\n', "", "[[counters]] #1.areas", "missing"),
    ("counter-id-duplicated", 'id = "3"', 'id = "1"', "counters", "'1'"),
    ("counter-id-space", 'id = "3"', 'id = "quầy 3"', "[[counters]] #3.id", "quầy 3"),
    ("counter-id-number", 'id = "3"', "id = 3", "[[counters]] #3.id", "string"),
    ("counter-unknown-key", 'name = "Quầy 1"', 'name = "Quầy 1"\ncolour = "red"', "[[counters]] #1.colour",
     "unknown key"),
    ("rating-phone-window-below-window", "window_s = 120", "window_s = 120\nphone_window_s = 60",
     "[rating].phone_window_s", "from window_s (120) to 86400"),
    ("rating-phone-window-over-a-day", "window_s = 120", "window_s = 120\nphone_window_s = 86401",
     "[rating].phone_window_s", "86401"),
    ("rating-phone-window-text", "window_s = 120", 'window_s = 120\nphone_window_s = "1800"',
     "[rating].phone_window_s", "integer"),
    ("web-not-a-table", CENTER, 'citizen_web = "https://a.vn"\n\n' + CENTER, "citizen_web", "table"),
    ("web-url-ftp", "[queue]\n", '[citizen_web]\nurl = "ftp://hang-doi.vn"\n\n[queue]\n', "[citizen_web].url",
     "https://"),
    ("web-url-no-scheme", "[queue]\n", '[citizen_web]\nurl = "hang-doi.vn"\n\n[queue]\n', "[citizen_web].url",
     "https://"),
    ("web-url-no-host", "[queue]\n", '[citizen_web]\nurl = "https://"\n\n[queue]\n', "[citizen_web].url",
     "https://"),
    ("web-url-query", "[queue]\n", '[citizen_web]\nurl = "https://hang-doi.vn/?a=1"\n\n[queue]\n',
     "[citizen_web].url", "without query"),
    ("web-url-fragment", "[queue]\n", '[citizen_web]\nurl = "https://hang-doi.vn/#x"\n\n[queue]\n',
     "[citizen_web].url", "without query"),
    ("web-url-space", "[queue]\n", '[citizen_web]\nurl = "https://hang doi.vn"\n\n[queue]\n',
     "[citizen_web].url", "https://"),
    ("web-url-bad-ipv6", "[queue]\n", '[citizen_web]\nurl = "https://[::1"\n\n[queue]\n', "[citizen_web].url",
     "not a URL"),
    ("web-url-too-long", "[queue]\n", f'[citizen_web]\nurl = "https://a.vn/{"x" * 200}"\n\n[queue]\n',
     "[citizen_web].url", "at most 200"),
    ("web-url-number", "[queue]\n", "[citizen_web]\nurl = 5\n\n[queue]\n", "[citizen_web].url", "string"),
    ("web-ids-space", "[queue]\n", '[citizen_web]\nids = ["web 1"]\n\n[queue]\n', "[citizen_web].ids", "'web 1'"),
    ("web-ids-twice", "[queue]\n", '[citizen_web]\nids = ["w", "w"]\n\n[queue]\n', "[citizen_web].ids", "twice"),
    ("web-ids-a-counters", "[queue]\n", '[citizen_web]\nids = ["counter-1"]\n\n[queue]\n', "[citizen_web].ids",
     "already another device's"),
    ("web-ids-a-kiosks", "[queue]\n", '[[kiosks]]\nid = "k1"\n\n[citizen_web]\nids = ["k1"]\n\n[queue]\n',
     "[citizen_web].ids", "already another device's"),
    ("web-unknown-key", "[queue]\n", '[citizen_web]\nport = 8090\n\n[queue]\n', "[citizen_web].port",
     "unknown key"),
    ("top-level-unknown-table", "[queue]\n", "[display]\nfont = \"x\"\n\n[queue]\n", "display", "unknown key"),
    ("top-level-unknown-key", CENTER, "debug = true\n\n" + CENTER, "debug", "unknown key"),
    # appointments (issue 18)
    ("bookings-without-hours", "[queue]\n", "[bookings]\n\n[queue]\n", "bookings", "need the center's [hours]"),
    ("bookings-slot-short", "[queue]\n", HOURS + "[bookings]\nslot_minutes = 3\n\n[queue]\n",
     "[bookings].slot_minutes", "at least 5"),
    ("bookings-days-ahead-far", "[queue]\n", HOURS + "[bookings]\ndays_ahead = 365\n\n[queue]\n",
     "[bookings].days_ahead", "at most 60"),
    ("bookings-per-area-above-day", "[queue]\n",
     HOURS + "[bookings]\nper_person_per_day = 1\nper_person_per_area = 2\n\n[queue]\n",
     "[bookings].per_person_per_area", "per_person_per_day"),
    ("bookings-too-late-unknown", "[queue]\n", HOURS + '[bookings]\ntoo_late = "wait"\n\n[queue]\n',
     "[bookings].too_late", "'wait'"),
    ("bookings-share-over", "[queue]\n", HOURS + "[bookings]\nshare_percent = 150\n\n[queue]\n",
     "[bookings].share_percent", "at most 100"),
    ("bookings-unknown-key", "[queue]\n", HOURS + "[bookings]\ncapacty = 2\n\n[queue]\n", "[bookings].capacty",
     "did you mean 'capacity'?"),
    ("area-booking-capacity-negative", 'name = "Đất đai"\n', 'name = "Đất đai"\nbooking_capacity = -1\n',
     "[[areas]] #1.booking_capacity", "at least 0"),
    ("notify-kind-unknown", "[queue]\n", '[notify]\nkind = "zalo"\n\n[queue]\n', "[notify].kind", "'zalo'"),
    ("notify-outbox-relative", "[queue]\n", '[notify]\nkind = "outbox"\npath = "notices.jsonl"\n\n[queue]\n',
     "[notify].path", "absolute"),
    ("notify-command-empty", "[queue]\n", '[notify]\nkind = "command"\ncommand = []\n\n[queue]\n',
     "[notify].command", "program"),
    ("storage-key-file-relative", "[storage]\n", '[storage]\nidentity_key_file = "identity.key"\n',
     "[storage].identity_key_file", "absolute"),
    ("storage-key-file-missing", "[storage]\n", '[storage]\nidentity_key_file = "/nonexistent/identity.key"\n',
     "[storage].identity_key_file", "cannot read"),
]


def place_of(message: str) -> str:
    """The key part of `center.toml: KEY: reason`."""
    assert message.startswith("center.toml: "), message
    return message.split(": ", 2)[1]


@pytest.mark.parametrize(("old", "new", "key", "fragment"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_single_mistake_is_one_line_naming_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, key: str, fragment: str
) -> None:
    text = edit(VALID, old, new).replace("@DB@", str(tmp_path / "center.db"))
    message = config_error(write(tmp_path, text))
    if key.startswith("["):
        assert place_of(message) == key, message
    else:
        assert key in place_of(message), message
    assert fragment in message, message


@pytest.mark.parametrize(("table", "renamed"), [("areas", "zones"), ("counters", "desks")])
def test_a_center_without_areas_or_counters_is_refused(tmp_path: Path, valid: str, table: str, renamed: str) -> None:
    message = config_error(write(tmp_path, valid.replace(f"[[{table}]]", f"[[{renamed}]]")))
    assert table in place_of(message)
    assert "missing" in message


def test_areas_given_as_a_plain_value_are_refused(tmp_path: Path, valid: str) -> None:
    text = 'areas = "dat-dai"\n' + valid.replace("[[areas]]", "[[zones]]")
    message = config_error(write(tmp_path, text))
    assert place_of(message) == "areas"
    assert "[[areas]]" in message


def test_the_example_in_the_brief_is_exact(tmp_path: Path, valid: str) -> None:
    text = edit(valid, 'first = 1\nlast = 999\nprefix = "B"', 'first = 5\nlast = 4\nprefix = "B"')
    assert config_error(write(tmp_path, text)) == "center.toml: [[areas]] #2.last: must not be below first (5)"


def test_the_message_names_the_file_it_was_given(tmp_path: Path, valid: str) -> None:
    text = edit(valid, '"00:00"', '"7:30"')
    message = config_error(write(tmp_path, text, name="huyen-a.toml"))
    assert message.startswith("huyen-a.toml: [center].day_starts: ")


def test_a_storage_folder_that_does_not_exist_is_named(tmp_path: Path, valid: str) -> None:
    missing = tmp_path / "khong-co" / "center.db"
    message = config_error(write(tmp_path, edit(valid, str(tmp_path / "center.db"), str(missing))))
    assert place_of(message) == "[storage].url"
    assert str(missing.parent) in message


def test_a_storage_url_pointing_into_a_file_is_refused(tmp_path: Path, valid: str) -> None:
    (tmp_path / "a-file").write_text("x")
    text = edit(valid, str(tmp_path / "center.db"), str(tmp_path / "a-file" / "center.db"))
    assert place_of(config_error(write(tmp_path, text))) == "[storage].url"


def test_an_unknown_key_with_a_newline_in_its_name_still_gives_one_line(tmp_path: Path, valid: str) -> None:
    text = edit(valid, CENTER, CENTER + '"lang\\nuage" = "vi"\n')
    assert tomllib.loads(text)["center"]["lang\nuage"] == "vi"
    message = config_error(write(tmp_path, text))
    assert message.startswith("center.toml: [center].")
    assert "unknown key" in message


# --- typos: the key written is named, with the key meant ------------------------------------------


def test_a_misspelt_array_of_tables_is_named_not_reported_missing(tmp_path: Path, valid: str) -> None:
    text = valid.replace("[[counters]]", "[[counter]]")
    assert config_error(write(tmp_path, text)) == "center.toml: counter: unknown key (did you mean [[counters]]?)"


def test_one_counter_misspelt_among_the_others_is_named_too(tmp_path: Path, valid: str) -> None:
    head, last = valid.rsplit("[[counters]]", 1)
    text = head + "[[counter]]" + last
    assert config_error(write(tmp_path, text)) == "center.toml: counter: unknown key (did you mean [[counters]]?)"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('url = "mqtt://', 'ulr = "mqtt://', "[mqtt].ulr: unknown key (did you mean 'url'?)"),  # two letters swapped
    ('name = "Quầy 1"', 'nam = "Quầy 1"', "[[counters]] #1.nam: unknown key (did you mean 'name'?)"),  # one dropped
    ("levels = [", "levels_ = [", "[rating].levels_: unknown key (did you mean 'levels'?)"),  # one added
    ("[storage]", "[storaga]", "storaga: unknown key (did you mean [storage]?)"),  # one changed
    ("last = 1999", "lastt = 1999", "[[areas]] #1.lastt: unknown key (did you mean 'last'?)"),
])
def test_a_misspelt_required_key_is_named_with_the_key_meant(tmp_path: Path, valid: str, old: str, new: str,
                                                             expected: str) -> None:
    assert config_error(write(tmp_path, edit(valid, old, new))) == f"center.toml: {expected}"


def test_a_missing_key_is_missing_when_nothing_unread_is_close_to_it(tmp_path: Path, valid: str) -> None:
    assert config_error(write(tmp_path, edit(valid, 'name = "Quầy 1"', 'label = "Quầy 1"'))) == (
        "center.toml: [[counters]] #1.name: is missing")


def test_a_missing_key_never_blames_a_right_key_read_after_it(tmp_path: Path, valid: str) -> None:
    """`counters` (read later) is near `center`, and `center` near `counter`: neither is taken for a typo."""
    assert config_error(write(tmp_path, edit(valid, CENTER, "[somewhere]\n"))).startswith(
        "center.toml: center: is missing")
    example = (REPO / "firmware_configs" / "counter.example.toml").read_text(encoding="utf-8")
    terminal = write(tmp_path, edit(example, 'counter = "1" ', "# no counter "), name="counter.toml")
    with pytest.raises(ConfigError) as caught:
        load_terminal(terminal)
    assert str(caught.value) == "counter.toml: [terminal].counter: is missing"


def test_a_misspelt_value_of_another_sort_is_not_taken_for_the_missing_table(tmp_path: Path, valid: str) -> None:
    """`storag = "x"` is no table: the missing [storage] is reported as missing, then `storag` as unknown."""
    text = edit(valid, "[storage]\nurl = ", "[elsewhere]\nurl = ")
    message = config_error(write(tmp_path, 'storag = "x"\n' + text))
    assert message == "center.toml: storage: is missing"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("window_s = 120", "windows = 120", "[rating].windows: unknown key (did you mean 'window_s'?)"),
    (CENTER, "[[kiosk]]\nid = \"k1\"\n\n" + CENTER, "kiosk: unknown key (did you mean [[kiosks]]?)"),
    ('prefix = "B"', 'prefix = "B"\ntarget_wait = 20', "[[areas]] #2.target_wait: unknown key (did you mean "
                                                      "'target_wait_min'?)"),
    (CENTER, CENTER + 'language = "vi"\n', "[center].language: unknown key"),  # nothing close: no guess
])
def test_an_unknown_key_names_the_closest_known_one(tmp_path: Path, valid: str, old: str, new: str,
                                                    expected: str) -> None:
    assert config_error(write(tmp_path, edit(valid, old, new))) == f"center.toml: {expected}"


def test_an_unknown_key_beside_the_right_one_is_not_told_to_become_it(tmp_path: Path, valid: str) -> None:
    message = config_error(write(tmp_path, edit(valid, "first = 1001\n", "first = 1001\nfrist = 1\n")))
    assert message == "center.toml: [[areas]] #1.frist: unknown key"


# --- what cannot work although every key is right ------------------------------------------------

NHO_SERVED = 'id = "3"\nname = "Quầy 3"\nareas = ["nho"]'


def test_an_open_area_no_counter_serves_is_refused(tmp_path: Path, valid: str) -> None:
    text = edit(valid, NHO_SERVED, NHO_SERVED.replace('["nho"]', '["tu-phap"]'))
    assert config_error(write(tmp_path, text)) == (
        "center.toml: [[areas]] #3: no counter serves the open area 'nho'; add it to a counter's areas or set "
        "open = false")


def test_a_closed_area_no_counter_serves_is_allowed(tmp_path: Path, valid: str) -> None:
    config = load(write(tmp_path, valid))
    assert config.rules.areas[3].id == "dong" and not config.rules.areas[3].open
    assert all("dong" not in counter.areas for counter in config.rules.counters)
    text = edit(edit(valid, NHO_SERVED, NHO_SERVED.replace('["nho"]', '["tu-phap"]')), 'prefix = "N"',
                'prefix = "N"\nopen = false')
    assert load(write(tmp_path, text)).rules.areas[2].open is False


@pytest.mark.parametrize("name", ["Quầy 1", "quầy 1", "QUẦY 1", "  Quầy   1 ", unicodedata.normalize("NFD", "Quầy 1")],
                         ids=["same", "lower", "upper", "spaces", "decomposed"])
def test_two_counters_with_one_name_are_refused(tmp_path: Path, valid: str, name: str) -> None:
    text = edit(valid, 'name = "Quầy 3"', f"name = {json.dumps(name)}")
    message = config_error(write(tmp_path, text))
    assert place_of(message) == "[[counters]] #3.name", message
    assert "counter '1'" in message and "could not tell" in message


def test_counters_whose_names_only_look_alike_load(tmp_path: Path, valid: str) -> None:
    text = edit(edit(valid, 'name = "Quầy 3"', 'name = "Quầy 10"'), 'name = "Quầy 2"', 'name = "Quay 1"')
    assert [c.name for c in load(write(tmp_path, text)).rules.counters] == ["Quầy 1", "Quay 1", "Quầy 10"]


def size_in(message: str) -> int:
    found = re.search(r"would be (\d+) bytes", message)
    assert found is not None, message
    return int(found.group(1))


def test_the_config_message_is_limited_by_what_devices_decode() -> None:
    assert config_payload_limit("qms/v1/rach-gia/config") == MAX_PAYLOAD  # the broker's limit (200 KiB) is larger
    assert "max_packet_size" in BROKER_TUNING.read_text(encoding="utf-8")


def test_a_broker_packet_limit_below_it_lowers_the_limit(tmp_path: Path) -> None:
    tuning = tmp_path / "tuning.conf"
    tuning.write_text("# max_packet_size 10\nmax_packet_size 20000\n")
    limit = config_payload_limit("qms/v1/rach-gia/config", tuning)
    assert 20000 - 120 < limit < 20000 - len("qms/v1/rach-gia/config")
    tuning.write_text("max_packet_size 0\n")  # Mosquitto's "no limit"
    assert config_payload_limit("qms/v1/rach-gia/config", tuning) == MAX_PAYLOAD
    assert config_payload_limit("qms/v1/rach-gia/config", tmp_path / "absent.conf") == MAX_PAYLOAD


def test_a_config_message_at_the_limit_loads_and_one_byte_more_is_refused(tmp_path: Path, valid: str) -> None:
    base = len(config_message(load(write(tmp_path, valid))).to_wire())
    fits = edit(valid, 'name = "Lĩnh vực nhỏ"', f'name = "Lĩnh vực nhỏ{"x" * (MAX_PAYLOAD - base)}"')
    config = load(write(tmp_path, fits))
    wire = config_message(config).to_wire()
    assert len(wire) == MAX_PAYLOAD
    assert CenterConfigMessage.from_wire(wire).areas[2].name == config.rules.areas[2].name  # devices take it
    over = edit(valid, 'name = "Lĩnh vực nhỏ"', f'name = "Lĩnh vực nhỏ{"x" * (MAX_PAYLOAD - base + 1)}"')
    message = config_error(write(tmp_path, over))
    assert place_of(message) == "[[areas]]"
    assert size_in(message) == MAX_PAYLOAD + 1 and f"over the {MAX_PAYLOAD}" in message


def test_a_config_message_too_large_names_the_counters_when_they_make_it_large(
    tmp_path: Path, valid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = "".join(f'\n[[counters]]\nid = "q{n}"\nname = "Quầy {n} {"ở tầng trệt, cạnh cửa " * 8}"\n'
                   f'areas = ["dat-dai", "tu-phap"]\n' for n in range(300))
    path = write(tmp_path, valid + many)
    message = config_error(path)
    assert place_of(message) == "[[counters]]"
    monkeypatch.setattr(center_config, "config_payload_limit", lambda topic: 10 * MAX_PAYLOAD)
    published = config_message(load(path)).to_wire()  # what the server would publish, built the same way
    assert size_in(message) == len(published) > MAX_PAYLOAD
    with pytest.raises(BadMessage, match="over"):
        CenterConfigMessage.from_wire(published)  # what every device would do with it


# --- MQTT credentials and TLS files -------------------------------------------------------------

URL_LINE = 'url = "mqtt://127.0.0.1:1883"'


def with_mqtt(valid: str, *lines: str, url: str = URL_LINE) -> str:
    return edit(valid, URL_LINE, "\n".join([url, *lines]))


def test_username_and_password_are_read(tmp_path: Path, valid: str) -> None:
    config = load(write(tmp_path, with_mqtt(valid, 'username = "server"', 'password = "mật-khẩu"')))
    assert (config.mqtt.username, config.mqtt.password) == ("server", "mật-khẩu")
    assert "mật-khẩu" not in config.summary()


def test_password_and_password_file_together_are_refused(tmp_path: Path, valid: str) -> None:
    (tmp_path / "server.password").write_text("s3cret\n")
    text = with_mqtt(valid, 'password = "x"', 'password_file = "server.password"')
    message = config_error(write(tmp_path, text))
    assert place_of(message) == "[mqtt].password_file"
    assert "password" in message.split(": ", 2)[2]
    assert "s3cret" not in message and '"x"' not in message


def test_password_file_is_read_stripped_and_relative_to_the_config_folder(
    tmp_path: Path, valid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc" / "qms"
    etc.mkdir(parents=True)
    (etc / "server.password").write_text("  mật-khẩu s3cret \n\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a cwd-relative reading would miss the file
    config = load(write(etc, with_mqtt(valid, 'username = "server"', 'password_file = "server.password"')))
    assert config.mqtt.password == "mật-khẩu s3cret"
    assert "s3cret" not in config.summary()


def test_password_file_given_relative_to_a_relative_config_path(
    tmp_path: Path, valid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "secrets").mkdir()
    (tmp_path / "conf" / "secrets" / "pw").write_text("abc\n")
    write(tmp_path / "conf", with_mqtt(valid, 'password_file = "secrets/pw"'))
    monkeypatch.chdir(tmp_path)
    assert load(Path("conf/center.toml")).mqtt.password == "abc"


def test_an_absolute_password_file_is_read(tmp_path: Path, valid: str) -> None:
    secret = tmp_path / "abs.password"
    secret.write_text("xyz")
    config = load(write(tmp_path, with_mqtt(valid, f"password_file = '{secret}'")))
    assert config.mqtt.password == "xyz"


def test_a_missing_password_file_is_named(tmp_path: Path, valid: str) -> None:
    message = config_error(write(tmp_path, with_mqtt(valid, 'password_file = "none.password"')))
    assert place_of(message) == "[mqtt].password_file"
    assert "none.password" in message


def test_a_password_file_that_is_a_folder_is_refused(tmp_path: Path, valid: str) -> None:
    (tmp_path / "pwdir").mkdir()
    message = config_error(write(tmp_path, with_mqtt(valid, 'password_file = "pwdir"')))
    assert place_of(message) == "[mqtt].password_file"


@pytest.mark.parametrize("content", ["", "   \n\t\n"], ids=["empty", "blank"])
def test_an_empty_password_file_is_refused(tmp_path: Path, valid: str, content: str) -> None:
    (tmp_path / "server.password").write_text(content)
    message = config_error(write(tmp_path, with_mqtt(valid, 'password_file = "server.password"')))
    assert place_of(message) == "[mqtt].password_file"
    assert "empty" in message


def test_a_password_file_that_is_not_utf8_is_one_line(tmp_path: Path, valid: str) -> None:
    (tmp_path / "server.password").write_bytes(b"\xff\xfe\x00")
    message = config_error(write(tmp_path, with_mqtt(valid, 'password_file = "server.password"')))
    assert place_of(message) == "[mqtt].password_file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_password_file_is_refused(tmp_path: Path, valid: str) -> None:
    secret = tmp_path / "server.password"
    secret.write_text("x")
    secret.chmod(0)
    message = config_error(write(tmp_path, with_mqtt(valid, 'password_file = "server.password"')))
    assert place_of(message) == "[mqtt].password_file"


def test_a_ca_file_with_plain_mqtt_is_refused(tmp_path: Path, valid: str) -> None:
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    message = config_error(write(tmp_path, with_mqtt(valid, 'ca_file = "ca.crt"')))
    assert place_of(message) == "[mqtt].ca_file"
    assert "mqtts://" in message


def test_a_missing_ca_file_is_named(tmp_path: Path, valid: str) -> None:
    text = with_mqtt(valid, 'ca_file = "missing-ca.crt"', url='url = "mqtts://broker.local:8883"')
    message = config_error(write(tmp_path, text))
    assert place_of(message) == "[mqtt].ca_file"
    assert "missing-ca.crt" in message


def test_mqtts_with_a_ca_file_loads_and_defaults_to_port_8883(tmp_path: Path, valid: str) -> None:
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    config = load(write(tmp_path, with_mqtt(valid, 'ca_file = "ca.crt"', url='url = "mqtts://broker.local"')))
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("broker.local", 8883, True)
    assert config.mqtt.ca_file == tmp_path / "ca.crt"
    assert config.mqtt.url == "mqtts://broker.local:8883"


def test_plain_mqtt_defaults_to_port_1883(tmp_path: Path, valid: str) -> None:
    config = load(write(tmp_path, with_mqtt(valid, url='url = "mqtt://broker.local"')))
    assert (config.mqtt.port, config.mqtt.tls) == (1883, False)


def test_a_cert_file_without_its_key_file_is_refused(tmp_path: Path, valid: str) -> None:
    (tmp_path / "client.crt").write_text("x")
    text = with_mqtt(valid, 'cert_file = "client.crt"', url='url = "mqtts://broker.local:8883"')
    assert place_of(config_error(write(tmp_path, text))) == "[mqtt].cert_file"


def test_a_device_config_reads_the_same_mqtt_section(tmp_path: Path) -> None:
    (tmp_path / "kiosk.password").write_text("k1-secret\n")
    path = write(tmp_path, '[mqtt]\nurl = "mqtt://10.0.0.2:1884"\nusername = "k1"\npassword_file = "kiosk.password"\n',
                 name="kiosk.toml")
    settings = load_mqtt(read_toml(path).table("mqtt"))
    assert (settings.host, settings.port, settings.username, settings.password) == ("10.0.0.2", 1884, "k1",
                                                                                   "k1-secret")
    path.write_text('[mqtt]\nurl = "ws://10.0.0.2"\n')
    with pytest.raises(ConfigError) as caught:
        load_mqtt(read_toml(path).table("mqtt"))
    assert str(caught.value) == "kiosk.toml: [mqtt].url: expected mqtt://host:port or mqtts://host:port"


def test_read_toml_errors_are_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        read_toml(tmp_path / "board.toml")
    assert "board.toml" in str(missing.value)
    bad = write(tmp_path, "[mqtt\nurl = 1\n", name="board.toml")
    with pytest.raises(ConfigError) as syntax:
        read_toml(bad)
    assert str(syntax.value).startswith("board.toml: ")
    assert "line 1" in str(syntax.value)
    assert "\n" not in str(syntax.value)


# --- the shipped example, the summary, warnings -------------------------------------------------


def test_the_shipped_example_loads() -> None:
    assert Path("/tmp").is_dir()
    config = load(EXAMPLE)
    assert config.center_id == "rach-gia"
    assert config.warnings == ()
    assert len(config.rules.areas) == len(tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["areas"])


def test_the_summary_names_every_area_with_its_diacritics() -> None:
    config = load(EXAMPLE)
    summary = config.summary()
    written = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert written["center"]["name"] in summary
    for area in written["areas"]:
        assert area["name"] in summary, area["name"]
        assert area["id"] in summary
    for counter in written["counters"]:
        assert counter["name"] in summary
    assert "Đất đai" in summary
    assert "Tư pháp – Hộ tịch" in summary
    assert "Lao động – Thương binh và Xã hội" in summary


def test_areas_sharing_a_prefix_and_overlapping_numbers_load_with_a_warning(tmp_path: Path, valid: str) -> None:
    text = edit(valid, 'prefix = "N"', 'prefix = "B"')  # nho: B1..B2 overlaps tu-phap: B001..B999
    config = load(write(tmp_path, text))
    assert len(config.warnings) == 1
    warning = config.warnings[0]
    assert "\n" not in warning
    assert "center.toml" in warning
    assert "'tu-phap'" in warning and "'nho'" in warning
    assert warning in config.summary()


def test_areas_without_prefixes_and_overlapping_numbers_get_a_warning(tmp_path: Path, valid: str) -> None:
    text = edit(valid, "first = 1\nlast = 999\nprefix = \"B\"", "first = 1500\nlast = 2500")
    config = load(write(tmp_path, text))
    assert len(config.warnings) == 1
    assert "'dat-dai'" in config.warnings[0] and "'tu-phap'" in config.warnings[0]


def test_areas_sharing_a_prefix_with_disjoint_numbers_get_no_warning(tmp_path: Path, valid: str) -> None:
    text = edit(valid, 'first = 1\nlast = 2\nprefix = "N"', 'first = 1000\nlast = 1999\nprefix = "B"')
    assert load(write(tmp_path, text)).warnings == ()


# --- the command line ---------------------------------------------------------------------------


def test_help_lists_the_sub_commands_and_theirs_still_work() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "central_server", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=60, check=False)

    shown = run("--help")
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"(?m)^  report  ", shown.stdout) and re.search(r"(?m)^  provision  ", shown.stdout), shown.stdout
    for sub, option in (("report", "--from"), ("provision", "--broker-host")):
        own = run(sub, "--help")
        assert own.returncode == 0, own.stderr
        assert own.stdout.startswith(f"usage: central_server {sub} ") and option in own.stdout


def test_check_on_a_bad_config_exits_2_with_one_stderr_line(tmp_path: Path, valid: str) -> None:
    bad = write(tmp_path, edit(valid, '"00:00"', '"24:00"'))
    env = {k: v for k, v in os.environ.items() if k != "QMS_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-m", "central_server", "--config", str(bad), "--check"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("central_server: center.toml: [center].day_starts: "), lines[0]
    assert "24:00" in lines[0]
    assert done.stdout == ""
