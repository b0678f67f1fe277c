"""Entry point for gunicorn (`wsgi:app`) and Celery workers (`wsgi:celery`)."""
from marketplace import create_app

app = create_app()
celery = app.extensions["celery"]
