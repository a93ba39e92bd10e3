"""After a call: analysis (disposition, summary, metrics) and the post-call webhook.

- `analysis.py`: pure functions from a closed call record to its `CallAnalysisView`.
- `pipeline.py`: finds closed calls without an analysis, saves one and queues the webhook
  deliveries in the same transaction (safe to run in several processes at once).
- `webhooks.py`: signs and delivers the queued bodies with retries, then dead-letters.

`callcenter web` runs the pipeline and the deliverer in the background, so a call the worker
closed is analysed within seconds and listed in the history with its disposition.
"""
