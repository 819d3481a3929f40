"""What happened and who hears of it: events, in-app notifications,
subscriptions, the outbox and its relay, and the integrations' webhook
endpoints.

``models`` (tables), ``services`` (publishing, the relay, the staff's view),
``dispatch`` (queueing the relay after a commit), ``tasks`` (the Celery tasks),
``config`` (``OUTBOX_*``: attempts, back-off, the sweep), ``webhooks`` and
``sealing`` (endpoints, their URL guard and sealed secrets), ``views`` («Очередь
уведомлений» and ``docflow outbox``). Sending itself is the ``notifications``
library's.
"""
