"""The main page, notifications and the language switch."""

from docflow.main.views import bp

__all__ = ["bp"]
