"""Durable storage of the center's state: a port and its adapters."""
