"""Background jobs: eager inline by default, a real worker on Redis in production."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from celery import Celery

from marketplace.jobs import heartbeat
from tests import services

ROOT = Path(__file__).resolve().parent.parent


def test_heartbeat_runs_inline_in_eager_mode(app):
    result = heartbeat.delay("inline").get(timeout=5)
    assert result["ok"] is True and result["note"] == "inline"


def test_a_real_worker_on_redis_runs_the_task(tmp_path):
    if not services.redis_available():
        services.missing("Redis")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "MARKETPLACE_CONFIG": "development", "REDIS_URL": services.REDIS_URL,
           "CELERY_QUEUE": queue, "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker", "--pool", "solo",
         "--concurrency", "1", "-Q", queue, "--without-gossip", "--without-mingle",
         "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client = Celery(broker=services.REDIS_URL, backend=services.REDIS_URL, set_as_current=False)
    try:
        result = client.send_task("marketplace.heartbeat", args=["from-test"], queue=queue)
        value = result.get(timeout=60)
        assert value["ok"] is True and value["note"] == "from-test"
        assert worker.poll() is None, "the worker died"
        services.USED["redis celery worker"] = True
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        client.close()


def test_eager_tasks_from_many_threads_leave_joins_allowed(app):
    """Celery's eager path sets a process-wide flag and restores what it read; threads
    doing that at once used to leave it set, so every later result.get() refused."""
    import threading

    from celery._state import task_join_will_block

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            with app.app_context():
                for _ in range(40):
                    heartbeat.delay("thread")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert task_join_will_block() is False
    assert heartbeat.delay("after").get(timeout=5)["note"] == "after"
