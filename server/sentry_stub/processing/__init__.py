"""What happens to an acknowledged envelope: rows derived by item kind, issues, alert rules."""
