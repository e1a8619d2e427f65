"""Pipelines, runs, cache, artifacts, logs and schedules (WorkflowService) on the engine."""
