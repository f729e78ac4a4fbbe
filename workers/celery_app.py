"""The Celery application, created from settings by `create_celery`.

``chronorag serve`` and ``chronorag worker`` call `create_celery` with their settings. The
``celery`` program's ``-A workers.celery_app`` (beat, inspect) finds ``app`` here: it is made
on that first lookup (PEP 562 module ``__getattr__``), not when the module is imported, so
importing this module builds nothing. ``celery -A workers.celery_app beat`` (one beat process
per deployment) sends ``chronorag.reconcile`` every ``reconcile_every_s``: in the distributed
topology that is what re-dispatches documents whose task was lost; the one-process
``chronorag serve`` runs the same reconciler in a thread instead.
"""

from __future__ import annotations

import functools
from typing import Any

from celery import Celery
from celery.signals import celeryd_init

from app.core.settings import Settings, get_settings
from workers.runtime import attach


def create_celery(settings: Settings) -> Celery:
    """A Celery app for ``settings``, with its own (empty) task runtime attached."""
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
        beat_schedule={
            "chronorag-reconcile": {
                "task": "chronorag.reconcile",
                "schedule": settings.reconcile_every_s,
                # A pass that could not start before the next one is due is only a duplicate.
                "options": {"queue": settings.celery_queue, "expires": settings.reconcile_every_s},
            }
        },
    )
    celery.conf.chronorag_settings = settings
    attach(celery, settings)
    return celery


@celeryd_init.connect
def _serve_worker_metrics(conf: Any = None, **_: Any) -> None:
    """A worker program serves its metrics when ``CHRONORAG_METRICS_PORT`` is set.

    ``celeryd_init`` is sent only by the worker program (``chronorag worker``), once, in its
    main process; the embedded worker inside ``serve`` reports through the API's /metrics.
    """
    if conf is None:
        return
    port = conf.get("chronorag_settings", get_settings()).metrics_port
    if port is not None:
        from workers.metrics_http import serve_metrics

        serve_metrics(port, conf.get("chronorag_runtime"))


@functools.cache
def _program_app() -> Celery:
    celery = create_celery(get_settings())
    celery.set_default()  # a thread pool's tasks find their app (and runtime) as the default
    return celery


def __getattr__(name: str) -> Any:
    """``app`` for the ``celery -A workers.celery_app`` program, made at its first lookup."""
    if name == "app":
        return _program_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
