"""Dispatch queues: the deliveries table (the default) or Redis Streams.

Either way the deliveries table holds the truth; a queue only carries *candidates* to
dispatchers (``ports.DeliverySource``), so losing it loses no delivery.
"""
