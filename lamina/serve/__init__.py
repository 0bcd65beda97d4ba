"""Serving saved models over HTTP: TF Serving's REST API on an ASGI app (`lamina serve`)."""
