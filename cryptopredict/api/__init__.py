"""The HTTP API: `app.create_app(artifacts, settings)`; `serving`, what it answers from, imports no
Flask."""
