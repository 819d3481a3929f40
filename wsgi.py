"""The WSGI entry (gunicorn 'wsgi:app') and the Celery entry ('celery -A wsgi:celery')."""

from docflow.app import create_app

app = create_app()
celery = app.extensions["celery"]
