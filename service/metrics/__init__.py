"""Prometheus metrics of every mlservice process (``GET /metrics`` on the admin listener).

``definitions`` names every metric, ``multiprocess`` keeps them correct across gunicorn
workers and training runs, ``model_collector`` reads the per-tenant gauges from the
served manifests at scrape time, ``log_events`` turns structured log records into
counts, and ``exposition`` renders the text format.
"""
