"""Admission tests drive WorkflowService and JobService over a real channel."""

from __future__ import annotations

from tests.workflow.conftest import workflows as workflows

__all__ = ["workflows"]
