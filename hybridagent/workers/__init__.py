"""Worker entry points and the plugin wiring."""
