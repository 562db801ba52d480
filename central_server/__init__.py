"""The central server: allocates numbers by procedure area, keeps every event, answers devices."""
