"""Upload hashers for the decoding pool's tests (importable by its worker processes)."""

import os
import time

from ocsea_match.service.decoding import _hash_upload


def crashy_upload(item, **options):
    data, _ = item
    if data.startswith(b"DIE"):
        os._exit(3)  # a decoder crashing the worker
    if data.startswith(b"SLOW"):
        time.sleep(0.5)
        data = data[4:]
        item = (data, item[1])
    if data.startswith(b"SLEEP"):
        time.sleep(30)  # a decoder stuck on a poisoned file: the time limit ends the worker
    return _hash_upload(item, **options)
