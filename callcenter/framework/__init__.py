"""Where the product leans on livekit-agents beyond its public API, each in one module.

- `realtime_chain`: subclasses the realtime fallback adapter's private session class so an
  exhausted realtime chain hands the greeting to the pipeline instead of ending the call.
- `tool_schemas`: caches the framework's tool-schema builders (module functions it patches).
- `silero_inline`: Silero VAD streams run their inference on the call's loop (the plugin's
  `VADStream._loop`), not through the thread pool.
- `session_tls`: builds the framework's shared-session TLS context (`http_context`'s cached
  `_create_ssl_context`) in the forkserver, ahead of the calls.

Everything else uses the public 1.8.9 API. tests/framework/ checks each internal these
modules touch, so an upgrade of livekit-agents that moves one fails there, by name, first.
"""
