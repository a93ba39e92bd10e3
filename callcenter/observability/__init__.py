"""Operations: logs, metrics and traces, for the worker, its call processes and the CLI.

- `logs`: the one logging set-up (levels, quiet libraries, PII masking, per-call fields);
- `metrics`: the product's Prometheus metrics and the small functions that record them;
- `relay`: carries call processes' metric events to the worker's main process, which
  serves them on LiveKit's Prometheus endpoint;
- `call_observer`: one call's session events → metrics and log fields;
- `tracing`: OpenTelemetry traces through LiveKit's telemetry when an OTLP endpoint is set.

The worker's command line (`callcenter start|dev`) that ties them together is
`callcenter.serve`. How to run and alert on all this: docs/operations.md.
"""
