"""What people and other systems see of a run.

Alerts and their state, Prometheus metrics, MLflow tracking, HTML and Markdown reports, KFP
artifacts and step logs.
"""
