"""Interactive hints over the interface (guided tours, driver.js) and the link
to the grid company's cabinet (ЛК ПАО «МОЭСК»).

* :mod:`docflow.tours.steps` — the tours as data: page key → steps;
* :mod:`docflow.tours.models` — which tours a user has seen; the grid
  account number stored per contract;
* :mod:`docflow.tours.services` and :mod:`docflow.tours.grid` — the services;
* :mod:`docflow.tours.views` — ``POST /tours/<key>/seen``, the grid account
  form and the template helpers the shared layout includes.
"""

from docflow.tours.views import bp

__all__ = ["bp"]
