"""The staff console: the officials' and the manager's browser pages (issue 15); so far its config and accounts."""
