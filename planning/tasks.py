"""The nightly plan as a background task (``manage.py db_worker`` runs it)."""

from django.tasks import task

from planning.plan import run_plan


@task()
def nightly_plan() -> dict:
    """Compute and store today's plan; return its run's id, status and line count."""
    run = run_plan()
    return {"run": run.pk, "status": run.status, "lines": run.total_count}
