"""The faust stream worker: learns from builds and test results, answers subset requests.

Read in this order: `app.py` (the app, its topics and the worker state), then one module per
topic family: `builds.py`, `test_results.py`, `subsets.py`; `messages.py` decodes each
message and dead-letters what fails; `checkpoints.py` for restarts. The worker process that
runs them is assembled in `pts.worker.process`.
"""
