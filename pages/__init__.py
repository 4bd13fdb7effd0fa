"""The app's views: one module per page, layout only (see docs/ARCHITECTURE.md)."""
