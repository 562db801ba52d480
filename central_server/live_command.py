"""`python -m central_server live-config --config FILE`: the live configuration as the database keeps it (its newest
version, changed on the console or by SIGHUP), printed as TOML whose tables replace the same ones in center.toml."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from central_server.config import load
from central_server.config_toml import to_toml
from central_server.storage import stored_live_config
from central_server.storage.port import StorageError
from protocol.errors import ConfigError
from protocol.messages import iso


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="central_server live-config", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, metavar="FILE", help="the center config (names its database)")
    args = parser.parse_args(argv)
    try:
        config = load(Path(args.config), on_this_host=False)
        stored = stored_live_config(config.storage)
    except (ConfigError, StorageError) as exc:
        print(f"central_server live-config: {exc}", file=sys.stderr)
        return 2
    if stored is None:
        note = f"No version is kept yet (the server has not run on this database): {config.path.name}'s own."
        print(to_toml(config.document, note=note), end="")
        return 0
    version = stored.version
    who = version.by if not version.by_name else f"{version.by_name} ({version.by})"
    print(to_toml(stored.document, note=f"Version {version.version}, {iso(version.at)}, {version.source}: {who}."),
          end="")
    return 0
