"""The counter terminal: the official's call keypad and the citizen's rating buttons."""
