"""The hall board and the counter LED displays: they show and speak the calls."""
