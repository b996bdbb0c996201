"""The query engine: Sentry search syntax and Discover over the SQLite store, as pure functions.

grammar (text -> tree) -> compile (tree -> parameterised SQL, using fields and aggregates)
-> discover (``run_discover``, ``search_events``); pipe translates the runbook's ``|`` form.
"""
