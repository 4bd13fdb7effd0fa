"""The networks and their registry (never imports xai)."""
