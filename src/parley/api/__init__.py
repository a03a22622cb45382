"""The REST edge: translates HTTP to service calls and errors back to HTTP."""
