"""The main page, notifications and the language switch."""

from docflow.dashboard.views import bp

__all__ = ["bp"]
