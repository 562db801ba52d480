"""Development tools that never ship to a device: `make demo`, the local broker and PostgreSQL the tests and
benchmarks start, the loopback printer, the demo's morning. `systemd/install.sh` does not install it, and no
shipped package imports it (`tests/test_architecture.py`)."""
