"""The ticket kiosk: a citizen touches a procedure area and takes a printed Vietnamese ticket."""
