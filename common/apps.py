from django.apps import AppConfig, apps

from common.columns import apply_column_limits


class CommonConfig(AppConfig):
    """No models: checks every model's columns the same way on every database."""

    name = "common"
    verbose_name = "Common"

    def ready(self):
        apply_column_limits(apps.get_models(include_auto_created=True))
