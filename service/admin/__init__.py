"""The admin listener (``ML_ADMIN_BIND``): ``/metrics``, the status dashboard, ``/retrain``.

Served by the same gunicorn as the Totara API but only to connections accepted on
the admin socket (:mod:`service.listeners`), never on the Totara port. One
resource per module; ``app.create_admin_app`` wires them.
"""
