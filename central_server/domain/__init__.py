"""The pure domain core: areas, tickets, counters, policies. No I/O, no clock, no MQTT."""
