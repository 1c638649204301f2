"""Dispatch queues: the deliveries table (the default), Redis Streams, or Amazon SQS.

Either way the deliveries table holds the truth; a queue only carries *candidates* to
dispatchers (``ports.DeliverySource``), so losing it loses no delivery. The relay that
feeds a queue is the same for each (``queue.relay``); each queue brings a publisher and
a consumer.
"""
