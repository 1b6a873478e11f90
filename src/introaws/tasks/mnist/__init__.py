"""The MNIST trainer shared by the dnn and batch hands-ons.

* ``data``  -- the four standard IDX files (plain or .gz): find, read, write, convert.
* ``model`` -- the textbook CNN: two conv layers, two fully connected, dropout, log-softmax.
* ``train`` -- SGD with momentum, the fixed-seed 80/20 split, per-epoch metrics, early
  stopping on validation loss, test accuracy at the best epoch.
* ``__main__`` -- ``python -m introaws.tasks.mnist``: the Batch job payload (CSV + JSON,
  optional upload to S3).

torch is imported only by ``model`` and ``train``; ``data`` needs numpy alone.
"""

# How a job runs the payload: the job definition's command on AWS, a process on the local cloud.
COMMAND = ["python", "-m", "introaws.tasks.mnist"]
