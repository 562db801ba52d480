"""Deployment: the systemd units, the installer, sd_notify of every agent."""
