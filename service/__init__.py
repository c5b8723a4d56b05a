"""The deployable parts: the Falcon app, gunicorn wiring, trainer process and the CLI."""
