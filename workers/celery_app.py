"""The Celery application, configured from settings.

``celery -A workers.celery_app worker`` imports this module; ``create_celery`` is what the
embedded runner calls with its own settings.
"""

from __future__ import annotations

from celery import Celery

from app.core.settings import Settings, get_settings


def create_celery(settings: Settings) -> Celery:
    celery = Celery("chronorag", broker=settings.broker_url, include=["workers.tasks"])
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.celery_queue,
        task_routes={"chronorag.*": {"queue": settings.celery_queue}},
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        enable_utc=True,
        timezone="UTC",
    )
    celery.conf.chronorag_settings = settings
    return celery


app = create_celery(get_settings())
