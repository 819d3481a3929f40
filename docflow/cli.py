"""The ``docflow`` program: Flask's command line over :func:`create_app`, with
``docflow run`` (Flask's development server) and the commands the app
registers (:mod:`docflow.commands`, and the modules' groups)."""

from __future__ import annotations

import sys

from flask.cli import FlaskGroup

from docflow.app import create_app


def main() -> None:
    cli = FlaskGroup(
        create_app=lambda: create_app(),
        add_default_commands=True,
        add_version_option=False,
        load_dotenv=False,
        set_debug_flag=False,
    )
    sys.exit(cli.main(prog_name="docflow"))
