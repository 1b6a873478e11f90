"""Identity in the local cloud: only its owner gets in, and every workload runs as its role.

* ``admin``      -- the owner's random administrator credentials, one file per home (0600).
* ``principals`` -- every key the daemon knows: the administrator's and those issued to
  workloads for their roles (minted in-process through moto's STS backend).
* ``signature``  -- SigV4 checked on the client's original request (moto's verifier).
* ``actions``    -- which IAM action a request is, and on which resources.
* ``policies``   -- a role's identity policies, read from moto's IAM and judged with moto's
  statement matcher.
* ``gate``       -- the front's check of every AWS API request: authenticate, then authorize,
  in the mode ``INTROAWS_IAM`` chose (``mode``: ``enforce``, ``soft`` or ``off``).
"""
