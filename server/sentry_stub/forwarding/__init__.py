"""Sending envelopes on: forwarding to an upstream after commit, replay, export and import."""
