"""The Sentry protocol, pure: the envelope format, item types, Relay's limits, payload readers."""
