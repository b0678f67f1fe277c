"""gunicorn's settings, read from the directory it is started in (`gunicorn wsgi:app`
in the repository's root, as the README says)."""
import gc


def post_worker_init(worker):
    """What a worker builds at start (the app, its modules, routes and mappers: most of
    the process's objects) lives as long as the worker: set it aside from the garbage
    collector, whose full passes would otherwise walk all of it every few requests."""
    gc.collect()
    gc.freeze()
