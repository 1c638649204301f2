"""What gets fired: the scheduler (due events -> deliveries) and the dispatcher.

- ``scheduler.Scheduler``: sleeps until the earliest due event enters its look-ahead
  (or a wake-up), then claims due events and, in one transaction, inserts their
  deliveries and advances them (``store.firing``; misfire rules in ``domain.misfire``).
- ``dispatcher.Dispatcher``: leases ready deliveries from a ``sources.DeliverySource``,
  sends each at its exact instant (``attempt``), batches results (``recorder``).
- ``maintenance``: reclaims expired leases, prunes old history, checkpoints SQLite.
- ``heartbeat``: keeps this node's row in ``nodes`` fresh, on every node.
- ``roles.background_roles()``: the runners ``Runtime.start`` launches;
  ``worker.run_roles(settings, stop)``: the same without the API.
"""
