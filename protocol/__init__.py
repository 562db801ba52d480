"""What every side of the queue system shares: topics, messages, config, the MQTT link."""
