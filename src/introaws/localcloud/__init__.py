"""The embedded local cloud: moto's server behind introaws's own WSGI front.

* ``server``   -- the daemon process: moto's WSGI app behind :class:`front.Front`.
* ``front``    -- sees every request: persistence, deterministic ids, runtime hooks.
* ``journal``  -- the write-ahead log that makes state survive restarts and ``kill -9``.
* ``requests`` -- what a request is (service, action, does it change state).
* ``daemon``   -- the client side: start on demand, stop, status, logs, reset.
* ``adapt``    -- every adaptation of CDK templates to moto's gaps, in one place.
* ``identity`` -- who may use the cloud (its owner's keys, SigV4) and what workloads' roles allow.

Nothing here knows the CLI.
"""
