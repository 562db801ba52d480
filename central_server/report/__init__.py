"""The center's reports: `python -m central_server report --config FILE --from DATE --to DATE --out DIR`."""
